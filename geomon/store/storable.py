"""Values made storable: text without NUL or lone surrogates, JSON without NaN or Infinity.

PostgreSQL's text and jsonb refuse ``\\u0000`` and unpaired surrogates, and jsonb refuses
``NaN``/``Infinity`` (Python's json writes them by default). Whatever a client sent, the audit
log and ``ingest_rejects`` must be able to keep it, so such values are escaped visibly rather
than failing the insert: NUL becomes U+FFFD, a lone surrogate becomes U+FFFD, a non-finite float
becomes its name as a string (``"inf"``, ``"-inf"``, ``"nan"``), bytes become hex.
"""

from __future__ import annotations

import math
from typing import Any

_REPLACEMENT = "\ufffd"


def text(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", _REPLACEMENT)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join(_REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value


def storable(value: Any) -> Any:
    """A JSON-able copy of ``value`` that text and jsonb columns accept."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {text(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [storable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return text(str(value))
