"""Patrol coverage inputs for a time window: the teams' tracks, the risk surface's file and the
patrol zones (the computation is :mod:`geomon.analysis.coverage`).

Reads go through the caller's connection, so row-level security limits the tracks and zones
to what the caller may see.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely

from geomon.errors import InvalidRequest, NotFound

_TRACKS = """
SELECT d.uid, array_agg(ST_X(p.geom) ORDER BY p.fix_time), array_agg(ST_Y(p.geom) ORDER BY
       p.fix_time), array_agg(extract(epoch FROM p.fix_time) ORDER BY p.fix_time)
FROM positions p JOIN devices d ON d.id = p.device_id
WHERE p.fix_time >= %(since)s AND p.fix_time < %(until)s AND p.valid AND d.kind <> 'sensor'
GROUP BY d.uid ORDER BY d.uid
"""
_PATROL_ZONES = """
SELECT z.id, ST_AsBinary(z.geom) FROM zones z
WHERE z.active AND (z.kind = 'patrol_area' OR z.id IN (SELECT zone_id FROM zone_assignments))
"""
_LATEST = """
SELECT d.uid, ST_X(l.geom), ST_Y(l.geom) FROM device_latest l JOIN devices d ON d.id = l.device_id
WHERE d.uid = ANY(%s)
"""


async def surface_path(conn: psycopg.AsyncConnection, surface_id: int, data_dir: Path) -> Path:
    cur = await conn.execute("SELECT path FROM surfaces WHERE id = %s", (surface_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no surface {surface_id}")
    p = Path(row[0])
    return p if p.is_absolute() else data_dir / p


async def load_inputs(
    conn: psycopg.AsyncConnection, since: datetime, until: datetime
) -> tuple[dict[str, tuple[np.ndarray, ...]], dict[int, Any], dict[str, tuple[float, float]]]:
    """Tracks (lon, lat, t) per device uid, patrol zones, and each team's latest lon/lat."""
    if until <= since:
        raise InvalidRequest("until must be after since")
    cur = await conn.execute(_TRACKS, {"since": since, "until": until})
    tracks: dict[str, tuple[np.ndarray, ...]] = {
        uid: (np.array(x, float), np.array(y, float), np.array(t, float))
        for uid, x, y, t in await cur.fetchall()
    }
    cur = await conn.execute(_PATROL_ZONES)
    zones = {zid: shapely.from_wkb(bytes(wkb)) for zid, wkb in await cur.fetchall()}
    cur = await conn.execute(_LATEST, (list(tracks),))
    latest = {str(uid): (float(x), float(y)) for uid, x, y in await cur.fetchall()}
    return tracks, zones, latest
