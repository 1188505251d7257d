"""Patrol coverage of a risk surface for a time window: numbers per team, per zone and in
total, the covered/uncovered layer and the ranked next-patrol areas (GeoJSON)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from api.common import UtcTime
from api.deps import ReadConn
from api.state import app_state
from geomon.analysis import coverage as coverage_analysis
from geomon.errors import NotFound
from geomon.store import coverage as coverage_store

router = APIRouter(tags=["coverage"])


@router.get("/coverage", summary="Share of the highest-risk cells today's patrols came near")
async def get_coverage(
    request: Request,
    conn: ReadConn,
    surface_id: Annotated[int, Query(ge=1, description="Risk surface (surfaces.id).")],
    since: Annotated[UtcTime, Query()],
    until: Annotated[UtcTime, Query()],
    distance_m: Annotated[float, Query(gt=0, le=50_000)] = 500.0,
    top_pct: Annotated[float | None, Query(gt=0, le=100)] = 10.0,
    threshold: float | None = None,
) -> dict[str, Any]:
    params = coverage_analysis.CoverageParams(
        since, until, distance_m, None if threshold is not None else top_pct, threshold
    )
    path = await coverage_store.surface_path(
        conn, surface_id, Path(app_state(request).settings.data_dir)
    )
    if not path.is_file():
        raise NotFound(f"surface {surface_id}'s file is missing")
    tracks, zones, latest = await coverage_store.load_inputs(conn, params.since, params.until)
    out = await asyncio.to_thread(coverage_analysis.compute, path, tracks, zones, latest, params)
    out["surface_id"] = surface_id
    return out


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
