"""Entities and links as people type them: checked and normalised before they are stored.

Pure (no database): the API and the CSV import call :func:`normalise_entity` and
:func:`normalise_link` on plain dicts and store what comes back. A vehicle's key is its plate
normalised by :func:`geomon.plates.normalise_plate` (case, separators, Cyrillic look-alikes,
country code), a phone's its IMEI (15 digits with a valid Luhn check digit) or its number in
international form (``+`` and 8-15 digits). Every error names the field and what is wrong.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from geomon.errors import InvalidRequest
from geomon.plates import normalise_plate
from geomon.store.schema_entities import ENTITY_KINDS, LINK_KINDS, TARGET_COLUMNS

MAX_TEXT = {"label": 200, "name": 200, "identity": 200, "source": 100, "note": 2000}
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]+")


class EntityError(InvalidRequest):
    """An entity or link as given cannot be stored; the message names the field."""


def _text(raw: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise EntityError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise EntityError(f"{key} must be text")
    value = value.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise EntityError(f"{key} contains control characters")
    limit = MAX_TEXT.get(key, 100)
    if len(value) > limit:
        raise EntityError(f"{key} is longer than {limit} characters")
    return value


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def normalise_imei(text: str) -> str:
    digits = _PHONE_SEPARATORS.sub("", text)
    if not (digits.isascii() and digits.isdigit() and len(digits) == 15 and luhn_ok(digits)):
        raise EntityError(f"imei {text!r} is not 15 digits with a valid check digit")
    return digits


def normalise_msisdn(text: str) -> str:
    """``+996 555 12-34-56`` → ``+996555123456``; local numbers are refused (no country)."""
    s = _PHONE_SEPARATORS.sub("", text)
    s = "+" + s[2:] if s.startswith("00") else s
    body = s[1:]
    if not (s.startswith("+") and body.isascii() and body.isdigit() and 8 <= len(body) <= 15):
        raise EntityError(
            f"msisdn {text!r} is not an international number (+ or 00, then 8-15 digits)"
        )
    return s


def _born_on(raw: dict[str, Any]) -> date | None:
    value = raw.get("born_on")
    if value is None or value == "":
        return None
    try:
        born = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        raise EntityError(f"born_on {value!r} is not a date (YYYY-MM-DD)") from None
    if not date(1900, 1, 1) <= born <= datetime.now(UTC).date():
        raise EntityError(f"born_on {born} is before 1900 or in the future")
    return born


def _vehicle(raw: dict[str, Any], out: dict[str, Any]) -> str:
    plate_raw, vin = _text(raw, "plate"), _text(raw, "vin")
    if plate_raw is None and vin is None:
        raise EntityError("a vehicle needs a plate or a vin")
    if vin is not None:
        vin = vin.upper()
        if not _VIN.fullmatch(vin):
            raise EntityError(f"vin {vin!r} is not 17 letters and digits (no I, O or Q)")
        out["vin"] = vin
    if plate_raw is not None:
        plate = normalise_plate(plate_raw, _text(raw, "plate_country"))
        if plate is None:
            raise EntityError(f"plate {plate_raw!r} is empty, over 20 characters or not text")
        out.update(plate=plate.plate, plate_raw=plate_raw, plate_country=plate.country)
        return plate.plate
    return f"VIN:{vin}"


def _phone(raw: dict[str, Any], out: dict[str, Any]) -> str:
    imei, msisdn = _text(raw, "imei"), _text(raw, "msisdn")
    if imei is None and msisdn is None:
        raise EntityError("a phone needs an imei or an msisdn")
    out["imei"] = None if imei is None else normalise_imei(imei)
    out["msisdn"] = None if msisdn is None else normalise_msisdn(msisdn)
    return str(out["imei"] or out["msisdn"])


def normalise_entity(raw: dict[str, Any]) -> dict[str, Any]:
    """Check an entity given as a dict; returns the columns to store (EntityError otherwise)."""
    kind = _text(raw, "kind", required=True)
    if kind not in ENTITY_KINDS:
        raise EntityError(f"kind {kind!r} is not one of {', '.join(ENTITY_KINDS)}")
    out: dict[str, Any] = dict.fromkeys(
        ("plate", "plate_raw", "plate_country", "vin", "imei", "msisdn"), None
    )
    out.update(kind=kind, name=_text(raw, "name"), born_on=_born_on(raw))
    given = _text(raw, "identity")
    if kind == "vehicle":
        identity: str | None = _vehicle(raw, out)
    elif kind == "phone":
        identity = _phone(raw, out)
    else:
        if out["name"] is None:
            raise EntityError(f"a {kind} needs a name")
        identity = given
    if given is not None and given != identity:
        raise EntityError(f"identity of a {kind} is {identity!r}, not {given!r}")
    label = _text(raw, "label") or out["name"] or out["plate_raw"] or out["msisdn"] or identity
    out.update(
        identity=identity,
        label=label,
        note=_text(raw, "note") or "",
        source=_text(raw, "source") or "",
    )
    return out


def _time(raw: dict[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    try:
        t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise EntityError(f"{key} {value!r} is not an RFC 3339 time") from None
    if t.tzinfo is None:
        raise EntityError(f"{key} {value!r} has no offset (e.g. Z)")
    if not 1900 <= t.astimezone(UTC).year <= 2100:
        raise EntityError(f"{key} {value!r} is before 1900 or after 2100")
    return t.astimezone(UTC)


def _confidence(raw: dict[str, Any]) -> float | None:
    value = raw.get("confidence")
    if value is None or value == "":
        return None
    try:
        c = float(value)
    except (TypeError, ValueError):
        raise EntityError(f"confidence {value!r} is not a number") from None
    if not (math.isfinite(c) and 0 <= c <= 1):
        raise EntityError(f"confidence {value!r} is not between 0 and 1")
    return c


def normalise_link(raw: dict[str, Any]) -> dict[str, Any]:
    """Check a link (kind, to_kind, times, confidence); ids are checked against the store."""
    kind = _text(raw, "kind", required=True)
    if kind not in LINK_KINDS:
        raise EntityError(f"kind {kind!r} is not one of {', '.join(LINK_KINDS)}")
    to_kind = _text(raw, "to_kind", required=True)
    if to_kind not in TARGET_COLUMNS:
        raise EntityError(f"to_kind {to_kind!r} is not one of {', '.join(TARGET_COLUMNS)}")
    out = {
        "kind": kind,
        "to_kind": to_kind,
        "valid_from": _time(raw, "valid_from"),
        "valid_until": _time(raw, "valid_until"),
        "confidence": _confidence(raw),
        "source": _text(raw, "source") or "",
        "note": _text(raw, "note") or "",
    }
    start, end = out["valid_from"], out["valid_until"]
    if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
        raise EntityError("valid_until is before valid_from")
    return out
