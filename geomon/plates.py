"""Normalisation of licence-plate reads from BCP cameras.

A read is normalised for matching only; the raw text is always kept as observed.
``normalise_plate`` returns ``None`` for reads that must never be matched
(empty, longer than 20 characters, or containing control characters).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

MAX_PLATE_LEN = 20

# Cyrillic capitals that look like Latin ones on a plate.
_CYRILLIC_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХ", "ABEKMHOPCTYX")
_SEPARATORS = re.compile(r"[\s\-.]+")
_COUNTRY = re.compile(r"^([A-Z]{2,3})[:/|]")


class NormalisedPlate(NamedTuple):
    plate: str
    country: str | None


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def normalise_plate(raw: str | None, country: str | None = None) -> NormalisedPlate | None:
    """Normalise a plate read; ``None`` means "store as observed, never match".

    A country code may be passed separately or prefixed as ``KG:``/``KZ/``.
    """
    if raw is None or len(raw) > MAX_PLATE_LEN or _has_control(raw):
        return None
    text = raw.upper().translate(_CYRILLIC_LOOKALIKES).strip()
    m = _COUNTRY.match(text)
    if m:
        country = country or m.group(1)
        text = text[m.end() :]
    plate = _SEPARATORS.sub("", text)
    if not plate:
        return None
    cc = country.strip().upper() if country and country.strip() else None
    if cc is not None and (not cc.isalpha() or len(cc) > 3 or _has_control(cc)):
        cc = None
    return NormalisedPlate(plate, cc)
