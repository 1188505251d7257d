"""Input points of a hotspot run, read from PostGIS fast (binary COPY straight into numpy).

A run reads one point layer (incidents, observations or positions), filtered by category,
agency, time window and an area of interest (AOI). The AOI is resolved once to a geometry in
EPSG:4326 (bbox, GeoJSON polygon, a country of ``countries``, or a geodesic buffer of N km
around a border line of ``borders``); points are selected with ``ST_Intersects`` against it so
the GiST index does the work. Coordinates come back as lon/lat float8 through
``COPY … TO STDOUT (FORMAT BINARY)`` and are decoded with one ``np.frombuffer`` (no per-row
Python), then projected with pyproj by the caller (measured faster than ``ST_Transform`` in
the server: bench/hotspots.py --db).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
import shapely

from geomon.errors import InvalidRequest, NotFound

log = logging.getLogger(__name__)

# layer -> (table, time column, category column, numeric value column, agency condition)
LAYERS: dict[str, tuple[str, str, str | None, str | None, str]] = {
    "incidents": ("incidents", "occurred_at", "category", "quantity", "t.agency_id = {a}"),
    "observations": ("observations", "observed_at", "kind", "value",
                     "t.sensor_id IN (SELECT d.id FROM devices d WHERE d.agency_id = {a})"),
    "positions": ("positions", "fix_time", None, None,
                  "t.device_id IN (SELECT d.id FROM devices d WHERE d.agency_id = {a})"),
}
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


@dataclass(frozen=True)
class PointFilter:
    """What to read: the store's view of a run's input filter (plain values, no pydantic)."""

    layer: str = "incidents"
    category: str | None = None
    agency: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sum_values: bool = False
    with_time: bool = False
    ordered: bool = False


@dataclass(frozen=True)
class LoadedPoints:
    """Points in lon/lat (EPSG:4326), their value (None = count) and time (epoch s) if asked."""

    lon: np.ndarray
    lat: np.ndarray
    values: np.ndarray | None
    epoch_s: np.ndarray | None

    def __len__(self) -> int:
        return len(self.lon)


def resolve_aoi(conn: psycopg.Connection, *, bbox: tuple[float, float, float, float] | None = None,
                geojson: dict[str, Any] | None = None, country: str | None = None,
                border: str | None = None, buffer_km: float | None = None
                ) -> shapely.Geometry | None:
    """The area of interest as a shapely geometry in EPSG:4326 (None when none is given)."""
    if bbox is not None:
        return shapely.box(*bbox)
    if geojson is not None:
        row = conn.execute(
            "SELECT ST_AsBinary(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)))",
            (json.dumps(geojson),)).fetchone()
    elif country is not None:
        row = conn.execute("SELECT ST_AsBinary(geom) FROM countries WHERE iso_a3 = upper(%s)",
                           (country,)).fetchone()
        if row is None:
            raise NotFound(f"no country {country!r} in the reference data")
    elif border is not None:
        if not buffer_km or buffer_km <= 0:
            raise InvalidRequest("a border area of interest needs a positive buffer in km")
        row = conn.execute(
            "SELECT ST_AsBinary(ST_Buffer(geom::geography, %s)::geometry) FROM borders "
            "WHERE code = upper(%s) OR b || '-' || a = upper(%s)",
            (buffer_km * 1000.0, border, border)).fetchone()
        if row is None:
            raise NotFound(f"no border {border!r} in the reference data (codes like AFG-TJK)")
    else:
        return None
    geom = shapely.from_wkb(bytes(row[0])) if row and row[0] is not None else None
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidRequest("the area of interest must be a non-empty polygon")
    return geom


def agency_id(conn: psycopg.Connection, code: str) -> int:
    row = conn.execute("SELECT id FROM agencies WHERE code = %s", (code,)).fetchone()
    if row is None:
        raise NotFound(f"no agency {code!r}")
    return int(row[0])


def _query(f: PointFilter, aoi: shapely.Geometry | None, agency: int | None
           ) -> tuple[str, list[Any]]:
    table, time_col, cat_col, value_col, agency_cond = LAYERS[f.layer]
    cols = ["ST_X(t.geom)", "ST_Y(t.geom)"]
    where, args = ["t.geom IS NOT NULL"], []
    if f.with_time:
        cols.append(f"extract(epoch FROM t.{time_col})::float8")
    if f.sum_values:
        if value_col is None:
            raise InvalidRequest(f"{f.layer} have no value to sum; count them instead")
        cols.append(f"t.{value_col}")
        where.append(f"t.{value_col} IS NOT NULL")
    if f.category is not None:
        if cat_col is None:
            raise InvalidRequest(f"{f.layer} have no category")
        where.append(f"t.{cat_col} = %s")
        args.append(f.category)
    if agency is not None:
        where.append(agency_cond.format(a="%s"))
        args.append(agency)
    for bound, op in ((f.since, ">="), (f.until, "<")):
        if bound is not None:
            where.append(f"t.{time_col} {op} %s")
            args.append(bound)
    if aoi is not None:
        where.append("ST_Intersects(t.geom, ST_GeomFromWKB(%s, 4326))")
        args.append(shapely.to_wkb(aoi))
    text = (f"SELECT {', '.join(cols)} FROM {table} t WHERE {' AND '.join(where)}"
            + (" ORDER BY 1, 2" if f.ordered else ""))
    return text, args


def load_points(conn: psycopg.Connection, f: PointFilter, aoi: shapely.Geometry | None = None
                ) -> LoadedPoints:
    """Read the filtered points with one binary COPY (row-level security applies as usual)."""
    if f.layer not in LAYERS:
        raise InvalidRequest(f"unknown point layer {f.layer!r} (one of {', '.join(LAYERS)})")
    agency = agency_id(conn, f.agency) if f.agency else None
    query, args = _query(f, aoi, agency)
    inner = psycopg.ClientCursor(conn).mogrify(query, args)  # COPY takes no bind parameters
    with conn.cursor() as cur, cur.copy(f"COPY ({inner}) TO STDOUT (FORMAT BINARY)") as copy:
        raw = b"".join(bytes(chunk) for chunk in copy)
    n_fields = 2 + int(f.with_time) + int(f.sum_values)
    arr = decode_float8_copy(raw, n_fields)
    return LoadedPoints(arr[:, 0], arr[:, 1], arr[:, -1] if f.sum_values else None,
                        arr[:, 2] if f.with_time else None)


def decode_float8_copy(raw: bytes, n_fields: int) -> np.ndarray:
    """Decode a binary COPY of ``n_fields`` non-null float8 columns to an (n, n_fields) array."""
    if not raw.startswith(_COPY_SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    ext_len = int.from_bytes(raw[15:19], "big")
    body = memoryview(raw)[19 + ext_len: len(raw) - 2]  # header … trailer (int16 -1)
    dtype = np.dtype([("n", ">i2")] + [(f, fmt) for i in range(n_fields)
                                       for f, fmt in ((f"l{i}", ">i4"), (f"v{i}", ">f8"))])
    if len(body) % dtype.itemsize:
        raise ValueError("binary COPY rows are not all float8 (a NULL or another type?)")
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and not ((rows["n"] == n_fields).all() and (rows["l0"] == 8).all()):
        raise ValueError("unexpected binary COPY row layout")
    out = np.empty((len(rows), n_fields), dtype=np.float64)
    for i in range(n_fields):
        out[:, i] = rows[f"v{i}"]
    return out
