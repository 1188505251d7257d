"""Reads of devices, their fixes and their tracks for the REST API (RLS decides visibility)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from geomon.errors import NotFound

_DEVICE_COLS = ("id", "uid", "kind", "agency", "name", "active", "fix_time", "lon", "lat")
_DEVICES = """
SELECT d.id, d.uid, d.kind, a.code, d.name, d.active, l.fix_time, ST_X(l.geom), ST_Y(l.geom)
FROM devices d JOIN agencies a ON a.id = d.agency_id
LEFT JOIN device_latest l ON l.device_id = d.id
WHERE (%(id)s::int IS NULL OR d.id = %(id)s) AND (%(after)s::int IS NULL OR d.id > %(after)s)
ORDER BY d.id LIMIT %(limit)s
"""


async def list_devices(
    conn: psycopg.AsyncConnection,
    *,
    after: int | None = None,
    limit: int = 100,
    device_id: int | None = None,
) -> list[dict[str, Any]]:
    cur = await conn.execute(_DEVICES, {"id": device_id, "after": after, "limit": limit})
    return [dict(zip(_DEVICE_COLS, r, strict=True)) for r in await cur.fetchall()]


async def get_device(conn: psycopg.AsyncConnection, device_id: int) -> dict[str, Any]:
    rows = await list_devices(conn, device_id=device_id, limit=1)
    if not rows:
        raise NotFound(f"no device {device_id}")
    return rows[0]


_FIXES = """
SELECT fix_time, ST_X(geom), ST_Y(geom), speed_mps, course_deg, altitude_m, valid
FROM positions
WHERE device_id = %(d)s AND fix_time >= %(t0)s AND fix_time < %(t1)s
  AND (%(after)s::timestamptz IS NULL OR fix_time > %(after)s)
  AND (%(x0)s::float8 IS NULL OR geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
ORDER BY fix_time LIMIT %(limit)s
"""
_FIX_COLS = ("fix_time", "lon", "lat", "speed_mps", "course_deg", "altitude_m", "valid")


async def device_fixes(
    conn: psycopg.AsyncConnection,
    device_id: int,
    start: datetime,
    end: datetime,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    after: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Fixes of one device in [start, end), optionally in a bbox, keyset-paged on fix_time."""
    x0, y0, x1, y1 = bbox or (None, None, None, None)
    cur = await conn.execute(
        _FIXES,
        {
            "d": device_id,
            "t0": start,
            "t1": end,
            "after": after,
            "x0": x0,
            "y0": y0,
            "x1": x1,
            "y1": y1,
            "limit": limit,
        },
    )
    return [dict(zip(_FIX_COLS, r, strict=True)) for r in await cur.fetchall()]


# Simplification in metres: in the UTM zone of the track's first fix (said in the result).
_TRACK = """
WITH p AS (SELECT geom, fix_time FROM positions
           WHERE device_id = %(d)s AND valid AND fix_time >= %(t0)s AND fix_time < %(t1)s
             AND (%(x0)s::float8 IS NULL
                  OR geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))),
line AS (SELECT ST_MakeLine(geom ORDER BY fix_time) g, count(*) n, min(fix_time) t0,
                max(fix_time) t1 FROM p),
z AS (SELECT CASE WHEN ST_Y(ST_StartPoint(g)) >= 0 THEN 32600 ELSE 32700 END
             + least(60, floor((ST_X(ST_StartPoint(g)) + 180) / 6)::int + 1) srid FROM line)
SELECT n, t0, t1, z.srid,
       ST_AsGeoJSON(CASE WHEN %(tol)s > 0 AND n > 2 THEN
           ST_Transform(ST_Simplify(ST_Transform(g, z.srid), %(tol)s), 4326) ELSE g END, 7)
FROM line, z
"""


async def device_track(
    conn: psycopg.AsyncConnection,
    device_id: int,
    start: datetime,
    end: datetime,
    *,
    tolerance_m: float = 0.0,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """One LineString through the valid fixes in [start, end), Douglas–Peucker-simplified
    with ``tolerance_m`` metres in the UTM zone of its first fix."""
    x0, y0, x1, y1 = bbox or (None, None, None, None)
    cur = await conn.execute(
        _TRACK,
        {
            "d": device_id,
            "t0": start,
            "t1": end,
            "tol": tolerance_m,
            "x0": x0,
            "y0": y0,
            "x1": x1,
            "y1": y1,
        },
    )
    row = await cur.fetchone()
    n, t0, t1, srid, geojson = row if row else (0, None, None, None, None)
    return {
        "n_fixes": int(n or 0),
        "first_fix": t0,
        "last_fix": t1,
        "simplified_in": f"EPSG:{srid}" if srid and tolerance_m > 0 else None,
        "geometry": geojson,
    }
