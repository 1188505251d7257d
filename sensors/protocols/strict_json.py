"""JSON as devices may send it and the database can store it.

Python's json accepts ``NaN``, ``Infinity`` and numbers past the float range (``1e309`` becomes
``inf``); PostgreSQL's jsonb refuses all three, and text/jsonb refuse ``\\u0000`` and unpaired
surrogates. A frame carrying any of them is refused here, at decode time, with a reason, so it
is counted as a decode error of its own and can never reach (or stop) the writer.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any


class UnstorableJson(ValueError):
    """Valid to Python's json, refused by the database (non-finite number, NUL, surrogate)."""


def _constant(name: str) -> Any:
    raise UnstorableJson(f"non-finite number {name} is not allowed")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnstorableJson(f"number {text[:40]} is outside the float range")
    return value


_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89abAB][0-9a-fA-F]{2}|[dD][c-fC-F][0-9a-fA-F]{2})")


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise UnstorableJson("NUL character (\\u0000) in a string")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise UnstorableJson("unpaired surrogate in a string")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k)
            _check_text(v)
    elif isinstance(value, list):
        for v in value:
            _check_text(v)


def loads(raw: bytes | str) -> Any:
    """``json.loads`` that refuses what jsonb cannot hold (raises :class:`UnstorableJson`)."""
    doc = json.loads(raw, parse_constant=_constant, parse_float=_float)
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if _SUSPECT.search(data):  # only then walk the document (a paired surrogate is fine)
        _check_text(doc)
    return doc
