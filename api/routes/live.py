"""``GET /api/v1/live``: Server-Sent Events of latest positions and events.

On connect: one ``snapshot`` event (a FeatureCollection of every visible device's latest
fix). Then ``positions`` events (FeatureCollections of devices that moved) and ``events``
events (FeatureCollections of new or changed events) as writers commit, a ``snapshot`` again
whenever this client fell behind, and ``: ping`` comments every 15 s (FastAPI's keep-alive).
Every read runs under the caller's row-level security; ``bbox`` narrows it further.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.common import AUTH_RESPONSES
from api.deps import Caller, Principal, scoped_connection
from api.live import LiveHub
from api.ogc.params import parse_bbox
from api.routes.devices import latest_feature
from api.state import app_state
from geomon.store.live import events_by_ids
from geomon.store.positions import latest_positions

router = APIRouter(
    tags=["live"],
    responses={**AUTH_RESPONSES, 422: {"description": "bbox is malformed (the message says how)."}},
)
Box = tuple[float, float, float, float]


def _inside(lon: float | None, lat: float | None, boxes: tuple[Box, ...]) -> bool:
    if not boxes:
        return True
    if lon is None or lat is None:
        return False
    return any(b[0] <= lon <= b[2] and b[1] <= lat <= b[3] for b in boxes)


def event_feature(row: dict[str, Any]) -> dict[str, Any]:
    geom = (
        None if row["lon"] is None else {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
    )
    props = {k: v for k, v in row.items() if k not in ("id", "lon", "lat")}
    props["occurred_at"] = row["occurred_at"].isoformat()
    return {"type": "Feature", "id": row["id"], "geometry": geom, "properties": props}


async def _positions(
    request: Request, caller: Principal, ids: list[int] | None, boxes: tuple[Box, ...]
) -> list[dict[str, Any]]:
    async with scoped_connection(request, caller) as conn:  # short: one per push
        rows = await latest_positions(conn, ids)
    return [latest_feature(r) for r in rows if _inside(r["lon"], r["lat"], boxes)]


async def _events(
    request: Request, caller: Principal, ids: list[int], boxes: tuple[Box, ...]
) -> list[dict[str, Any]]:
    async with scoped_connection(request, caller) as conn:
        rows = await events_by_ids(conn, ids)
    return [event_feature(r) for r in rows if _inside(r["lon"], r["lat"], boxes)]


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _bbox(
    bbox: Annotated[
        str | None,
        Query(
            description="Only features inside minLon,minLat,maxLon,maxLat (CRS84).",
            examples=["66,36,81,46"],
        ),
    ] = None,
) -> tuple[Box, ...]:
    """Validated before the stream starts, so a bad bbox is a plain 422."""
    return parse_bbox(bbox)


@router.get(
    "/live",
    response_class=EventSourceResponse,
    summary="Live positions and events (SSE)",
    description="text/event-stream: `snapshot` on connect (and after falling behind), then "
    "`positions` and `events` as they are committed; `: ping` every 15 s.",
)
async def live(
    request: Request, caller: Caller, boxes: Annotated[tuple[Box, ...], Depends(_bbox)]
) -> AsyncIterator[ServerSentEvent]:
    hub: LiveHub = app_state(request).live_hub
    sub = await hub.subscribe()
    try:
        yield ServerSentEvent(
            event="snapshot", data=_fc(await _positions(request, caller, None, boxes)), retry=2000
        )
        while True:
            resync, devices, events = await sub.next_batch()
            if resync:
                yield ServerSentEvent(
                    event="snapshot", data=_fc(await _positions(request, caller, None, boxes))
                )
                continue
            if devices and (feats := await _positions(request, caller, sorted(devices), boxes)):
                yield ServerSentEvent(event="positions", data=_fc(feats))
            if events and (feats := await _events(request, caller, sorted(events), boxes)):
                yield ServerSentEvent(event="events", data=_fc(feats))
    finally:
        hub.unsubscribe(sub)


def install(app: FastAPI, url: str) -> None:
    app_state(app).live_hub = LiveHub(url)
    app.include_router(router, prefix="/api/v1")
