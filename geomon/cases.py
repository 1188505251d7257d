"""Seizure cases: validation and normalisation of one case against the reference vocabularies.

The vocabularies live in PostGIS (``case_*`` tables, migration 0019); :class:`Vocab` is the
copy one import or request checks against. Quantities with a mass unit (g, kg, t) become
``quantity_kg``; plants, tablets and doses stay counts. Bad input raises :class:`CaseError`
naming the field and, for vocabularies, the accepted codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ABSURD_KG = 100_000.0  # more than 100 t in one case: flagged, not refused
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


class CaseError(ValueError):
    """A case that cannot be stored; ``str()`` is the reason shown to the person."""


@dataclass(frozen=True)
class Vocab:
    categories: frozenset[str]
    substances: dict[str, str]  # code → measure (mass | count)
    units: dict[str, float | None]  # code → factor to kg, None for counts
    concealments: frozenset[str]
    transport_modes: frozenset[str]
    aliases: dict[str, str] = field(default_factory=dict)  # agency alias → substance/unit code


def _code(value: Any, accepted: Any, what: str, aliases: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    text = aliases.get(text, text)
    if text not in accepted:
        raise CaseError(f"unknown {what} {value!r}; accepted: {', '.join(sorted(accepted))}")
    return text


def _float(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise CaseError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(out):
        raise CaseError(f"{what} must be a finite number")
    return out


def _time(value: Any, now: datetime) -> datetime:
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise CaseError(f"occurred_at {value!r} is not an ISO 8601 time") from None
    offset = t.utcoffset()
    if offset is None:
        raise CaseError("occurred_at needs a UTC offset")
    if abs(offset.total_seconds()) >= 16 * 3600:  # PostgreSQL's limit; no real zone is near it
        raise CaseError("occurred_at has a UTC offset beyond ±15:59")
    if t > now:
        raise CaseError("occurred_at is in the future")
    if t < EARLIEST:
        raise CaseError("occurred_at is before 1990")
    return t


def _point(
    raw: dict[str, Any], bbox: tuple[float, float, float, float] | None
) -> tuple[float, float]:
    lon, lat = _float(raw.get("lon"), "lon"), _float(raw.get("lat"), "lat")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CaseError(f"coordinates ({lon}, {lat}) are not longitude/latitude")
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            if x0 <= lat <= x1 and y0 <= lon <= y1:
                raise CaseError(f"coordinates ({lon}, {lat}) look swapped (lat/lon)")
            raise CaseError(f"coordinates ({lon}, {lat}) are outside the region")
    return lon, lat


def _countries(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    out = [str(c).strip().upper() for c in items if str(c).strip()]
    for c in out:
        if len(c) != 3 or not c.isalpha():
            raise CaseError(f"country {c!r} is not an ISO 3166 alpha-3 code")
    return out


def normalise(
    raw: dict[str, Any],
    vocab: Vocab,
    *,
    now: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """One raw case (CSV row, JSON body, feature properties) → the stored shape, or CaseError."""
    now = now or datetime.now(UTC)
    external_id = str(raw.get("external_id") or "").strip()
    if not external_id:
        raise CaseError("external_id is required")
    category = _code(raw.get("category"), vocab.categories, "category", {})
    if category is None:
        raise CaseError("category is required")
    substance = _code(raw.get("substance"), vocab.substances, "substance", vocab.aliases)
    unit = _code(raw.get("unit"), vocab.units, "unit", vocab.aliases)
    flags: list[str] = []
    kg: float | None = None
    count: int | None = None
    if raw.get("quantity") not in (None, ""):
        q = _float(raw["quantity"], "quantity")
        if q < 0:
            raise CaseError("quantity is negative")
        if unit is None:
            raise CaseError("quantity needs a unit; accepted: " + ", ".join(sorted(vocab.units)))
        factor = vocab.units[unit]
        if substance is not None and (factor is None) != (vocab.substances[substance] == "count"):
            want = "a count" if vocab.substances[substance] == "count" else "a mass"
            raise CaseError(f"{substance} is measured as {want}, not in {unit}")
        if factor is None:
            if q != int(q):
                raise CaseError(f"a count in {unit} must be a whole number")
            count = int(q)
        else:
            kg = q * factor
            if kg > ABSURD_KG:
                flags.append("absurd_quantity")
    lon, lat = _point(raw, bbox)
    origin = _countries(raw.get("origin_country"))
    destination = _countries(raw.get("destination_country"))
    return {
        "external_id": external_id[:200],
        "category": category,
        "substance": substance,
        "quantity_kg": kg,
        "quantity_count": count,
        "unit": unit,
        "occurred_at": _time(raw.get("occurred_at"), now),
        "lon": lon,
        "lat": lat,
        "concealment": _code(raw.get("concealment"), vocab.concealments, "concealment", {}),
        "transport_mode": _code(
            raw.get("transport_mode"), vocab.transport_modes, "transport mode", {}
        ),
        "origin_country": origin[0] if origin else None,
        "transit_countries": _countries(raw.get("transit_countries")),
        "destination_country": destination[0] if destination else None,
        "seizing_unit": str(raw.get("seizing_unit") or "")[:200],
        "note": str(raw.get("note") or "")[:2000],
        "flags": flags,
    }
