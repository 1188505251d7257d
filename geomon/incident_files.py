"""Parsing incident uploads (CSV or GeoJSON) into validated rows, all-or-nothing.

CSV columns: category, occurred_at (RFC 3339 with offset), lon, lat, and optionally quantity,
unit; other columns go to attrs. GeoJSON: a FeatureCollection of Points whose properties hold
the same fields. Every problem names its row (CSV line or feature index).
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from typing import Any

from geomon.errors import InvalidRequest

MAX_ROWS = 50_000
_KNOWN = {"category", "occurred_at", "lon", "lat", "quantity", "unit"}


def _num(value: Any, what: str, where: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{where}: {what} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise InvalidRequest(f"{where}: {what} must be finite")
    return out


def incident_row(props: dict[str, Any], lon: Any, lat: Any, where: str) -> dict[str, Any]:
    """One validated incident (category, occurred_at, lon, lat, quantity, unit, attrs)."""
    category = str(props.get("category") or "").strip()
    if not category:
        raise InvalidRequest(f"{where}: category is required")
    try:
        when = datetime.fromisoformat(str(props.get("occurred_at", "")).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"{where}: occurred_at must be RFC 3339, got {props.get('occurred_at')!r}"
        ) from None
    if when.tzinfo is None:
        raise InvalidRequest(f"{where}: occurred_at needs a time zone offset")
    x, y = _num(lon, "lon", where), _num(lat, "lat", where)
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise InvalidRequest(f"{where}: lon/lat out of range ({x}, {y})")
    qty = props.get("quantity")
    return {
        "category": category,
        "occurred_at": when,
        "lon": x,
        "lat": y,
        "quantity": None if qty in (None, "") else _num(qty, "quantity", where),
        "unit": (str(props["unit"]) if props.get("unit") not in (None, "") else None),
        "attrs": {k: v for k, v in props.items() if k not in _KNOWN and v not in (None, "")},
    }


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = {"category", "occurred_at", "lon", "lat"} - set(reader.fieldnames or ())
        if missing:
            raise InvalidRequest(f"CSV lacks column(s): {', '.join(sorted(missing))}")
        rows = [
            incident_row(r, r.get("lon"), r.get("lat"), f"line {i}")
            for i, r in enumerate(reader, start=2)
        ]
    except csv.Error as exc:  # a field past the csv module's size limit, a stray quote…
        raise InvalidRequest(f"line {reader.line_num}: not readable as CSV: {exc}") from None
    return _bounded(rows)


def parse_geojson(text: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InvalidRequest("GeoJSON upload must be a FeatureCollection")
    rows = []
    for i, f in enumerate(doc.get("features") or []):
        geom = (f or {}).get("geometry") or {}
        if geom.get("type") != "Point" or len(geom.get("coordinates") or []) < 2:
            raise InvalidRequest(f"feature {i}: geometry must be a Point")
        lon, lat = geom["coordinates"][:2]
        rows.append(incident_row(f.get("properties") or {}, lon, lat, f"feature {i}"))
    return _bounded(rows)


def _bounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        raise InvalidRequest("the upload holds no incidents")
    if len(rows) > MAX_ROWS:
        raise InvalidRequest(f"at most {MAX_ROWS} incidents per upload, got {len(rows)}")
    return rows
