"""Events: list with filters, one event, acknowledge and resolve (with a note); both write
the event's history (assign and the history itself: api/routes/event_desk.py).

Reads run under the caller's row-level security (any role); acknowledging and resolving
change agency data, so they need the analyst role (the database's write policy says the same).
Each change is announced on ``geomon_events`` by the store, so live maps update.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query
from pydantic import BaseModel, Field

from api.common import UtcTime
from api.deps import Analyst, ReadConn, WriteConn
from geomon.store import event_desk
from geomon.store import events as event_store

router = APIRouter(tags=["events"])
EventId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Event id.")]


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=4000, description="Free text for the log.")


def event_feature(row: dict[str, Any]) -> dict[str, Any]:
    """One event as an RFC 7946 Feature (times as ISO 8601 strings)."""
    props = {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in row.items()
        if k not in ("lon", "lat")
    }
    geom = (
        None if row["lon"] is None else {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
    )
    return {"type": "Feature", "id": row["id"], "geometry": geom, "properties": props}


@router.get("/events", summary="Events, newest first (GeoJSON FeatureCollection)")
async def list_events(
    conn: ReadConn,
    state: Annotated[list[Literal["new", "acknowledged", "resolved"]] | None, Query()] = None,
    kind: Annotated[list[str] | None, Query(max_length=64)] = None,
    min_severity: Literal["info", "warning", "critical"] | None = None,
    severity: Annotated[list[Literal["info", "warning", "critical"]] | None, Query()] = None,
    agency: Annotated[list[str] | None, Query(max_length=64, description="Agency codes")] = None,
    assigned_to: Annotated[str | None, Query(max_length=200)] = None,
    device_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    zone_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    since: Annotated[UtcTime | None, Query()] = None,
    until: Annotated[UtcTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    rows = await event_store.list_events(
        conn,
        states=state or [],
        kinds=kind or [],
        min_severity=min_severity,
        severities=severity or [],
        agencies=agency or [],
        assigned_to=assigned_to,
        device_id=device_id,
        zone_id=zone_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return {
        "type": "FeatureCollection",
        "features": [event_feature(r) for r in rows],
        "numberReturned": len(rows),
    }


@router.get("/events/{event_id:int}", summary="One event")
async def get_event(conn: ReadConn, event_id: EventId) -> dict[str, Any]:
    return event_feature(await event_store.get_event(conn, event_id))


@router.post("/events/{event_id:int}/acknowledge", summary="new → acknowledged")
async def acknowledge(
    conn: WriteConn, who: Analyst, event_id: EventId, body: Note | None = None
) -> dict[str, Any]:
    row = await event_desk.acknowledge(
        conn, event_id, user=who.user, note=body.note if body else None
    )
    return event_feature(row)


@router.post("/events/{event_id:int}/resolve", summary="new/acknowledged → resolved, with a note")
async def resolve(
    conn: WriteConn, who: Analyst, event_id: EventId, body: Note | None = None
) -> dict[str, Any]:
    row = await event_desk.resolve(conn, event_id, user=who.user, note=body.note if body else None)
    return event_feature(row)


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
