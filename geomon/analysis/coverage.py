"""Patrol coverage for a time window: runs :mod:`geomon.spatial.coverage` on the tracks, zones
and latest positions that :mod:`geomon.store.coverage` loaded, over a risk surface's GeoTIFF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from geomon.errors import InvalidRequest
from geomon.spatial import coverage as cov
from geomon.spatial.coverage_layers import (
    coverage_geojson,
    patrol_geojson,
    project_tracks,
    team_plans,
    zone_masks,
)
from geomon.spatial.raster_io import read_geotiff


@dataclass(frozen=True)
class CoverageParams:
    since: datetime
    until: datetime
    distance_m: float = 500.0
    top_pct: float | None = 10.0
    threshold: float | None = None
    max_gap_s: float = 300.0


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
