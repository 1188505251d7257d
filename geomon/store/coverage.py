"""Patrol coverage for a time window: loads the teams' tracks, the risk surface and the patrol
zones from the store, and runs :mod:`geomon.spatial.coverage` on them.

Reads go through the caller's connection, so row-level security limits the tracks and zones
to what the caller may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely

from geomon.errors import InvalidRequest, NotFound
from geomon.spatial import coverage as cov
from geomon.spatial.coverage_layers import (
    coverage_geojson,
    patrol_geojson,
    project_tracks,
    team_plans,
    zone_masks,
)
from geomon.spatial.raster_io import read_geotiff

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


@dataclass(frozen=True)
class CoverageParams:
    since: datetime
    until: datetime
    distance_m: float = 500.0
    top_pct: float | None = 10.0
    threshold: float | None = None
    max_gap_s: float = 300.0


async def surface_path(conn: psycopg.AsyncConnection, surface_id: int, data_dir: Path) -> Path:
    cur = await conn.execute("SELECT path FROM surfaces WHERE id = %s", (surface_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no surface {surface_id}")
    p = Path(row[0])
    return p if p.is_absolute() else data_dir / p


async def load_inputs(
    conn: psycopg.AsyncConnection, params: CoverageParams
) -> tuple[dict[str, tuple[np.ndarray, ...]], dict[int, Any], dict[str, tuple[float, float]]]:
    """Tracks (lon, lat, t) per device uid, patrol zones, and each team's latest lon/lat."""
    if params.until <= params.since:
        raise InvalidRequest("until must be after since")
    cur = await conn.execute(_TRACKS, {"since": params.since, "until": params.until})
    tracks: dict[str, tuple[np.ndarray, ...]] = {
        uid: (np.array(x, float), np.array(y, float), np.array(t, float))
        for uid, x, y, t in await cur.fetchall()
    }
    cur = await conn.execute(_PATROL_ZONES)
    zones = {zid: shapely.from_wkb(bytes(wkb)) for zid, wkb in await cur.fetchall()}
    cur = await conn.execute(_LATEST, (list(tracks),))
    latest = {str(uid): (float(x), float(y)) for uid, x, y in await cur.fetchall()}
    return tracks, zones, latest


def compute(
    path: Path,
    tracks: dict[str, tuple[np.ndarray, ...]],
    zones: dict[int, Any],
    latest: dict[str, tuple[float, float]],
    params: CoverageParams,
) -> dict[str, Any]:
    """Pure part (run it in a thread): numbers, the layer and the next-patrol ranking."""
    grid = read_geotiff(path)
    if not grid.crs:
        raise InvalidRequest(f"{path.name}: the surface has no CRS")
    risk = np.asarray(grid.array, dtype=float)
    projected = project_tracks(tracks, grid.crs, params.max_gap_s)
    result = cov.coverage(
        risk,
        grid.transform,
        projected,
        params.distance_m,
        top_pct=params.top_pct,
        threshold=params.threshold,
        zone_masks=zone_masks(zones, grid),
        nodata=grid.nodata,
    )
    positions: dict[str, tuple[float, float]] = {}
    for uid, (lon, lat) in latest.items():
        x, y = project_tracks({uid: (np.array([lon]), np.array([lat]), np.array([0.0]))}, grid.crs)[
            uid
        ][:2]
        positions[uid] = (float(x[0]), float(y[0]))
    areas, labels = cov.next_patrol(
        risk, result.layer == cov.HIGH_UNCOVERED, grid.transform, positions
    )

    def share(s: cov.Share) -> dict[str, Any]:
        return {"high_cells": s.high_cells, "covered_cells": s.covered_cells, "share": s.share}

    return {
        "window": {"since": params.since.isoformat(), "until": params.until.isoformat()},
        "crs": grid.crs,
        "cell_size_m": grid.cell_size,
        "distance_m": params.distance_m,
        "threshold": result.threshold,
        "top_pct": params.top_pct,
        "total": share(result.total),
        "per_team": {t: share(s) for t, s in result.per_team.items()},
        "per_zone": {str(z): share(s) for z, s in result.per_zone.items()},
        "layer": coverage_geojson(result, grid),
        "next_patrol": patrol_geojson(areas, labels, grid),
        "team_plans": team_plans(areas, list(positions)),
    }
