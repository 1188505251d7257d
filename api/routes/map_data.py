"""Small JSON reads the situation map needs beyond the live stream: a device's track for
replay, a crossing point's latest sensor observations, and the backlog of unresolved events
after an id (with device and zone names) for the events panel.

Acknowledging uses the events resource (POST /api/v1/events/{id}/acknowledge); the page
takes every URL from one place (api/map/page.py MapUrls).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.common import UtcTime
from api.deps import ReadConn
from geomon.errors import InvalidRequest
from geomon.store import map_layers

router = APIRouter(prefix="/map", tags=["map"])


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


@router.get("/track/{device_id:int}", summary="A device's fixes in a time window (for replay)")
async def track(
    device_id: int,
    conn: ReadConn,
    start: Annotated[UtcTime | None, Query(description="default end − 1 h")] = None,
    end: Annotated[UtcTime | None, Query(description="default now")] = None,
) -> JSONResponse:
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=1)
    if start >= end or end - start > timedelta(days=31):
        raise InvalidRequest("start must be before end, and the window at most 31 days")
    rows = await map_layers.device_track(conn, device_id, start, end)
    return JSONResponse(
        {
            "device_id": device_id,
            "columns": ["t_ms", "lat", "lon", "speed_mps", "course_deg"],
            "fixes": rows,
        }
    )


@router.get(
    "/places/{place_id:int}/observations",
    summary="Latest sensor observations at a crossing point or port",
)
async def place_observations(place_id: int, conn: ReadConn) -> JSONResponse:
    rows = await map_layers.place_observations(conn, place_id)
    return JSONResponse({"place_id": place_id, "observations": [_jsonable(r) for r in rows]})


@router.get("/events", summary="Unresolved events newer than after_id, newest first")
async def events(
    conn: ReadConn,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    rows = await map_layers.recent_events(conn, after_id=after_id, limit=limit)
    return JSONResponse({"events": [_jsonable(r) for r in rows]})
