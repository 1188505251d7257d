"""The event desk: assign an event to a user, add a note, and read its history (who did what,
when). Acknowledge and resolve live in api/routes/events.py and write the same history.

Changes need the analyst role (the database's write policy says the same); reads run under the
caller's row-level security. Every change is audited by the middleware (POST) and announced on
``geomon_events``, so live maps update.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path
from pydantic import BaseModel, Field

from api.deps import Analyst, ReadConn, WriteConn
from api.routes.events import event_feature
from geomon.store import event_desk

router = APIRouter(tags=["events"])
EventId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Event id.")]


class Assignment(BaseModel):
    assignee: str | None = Field(
        max_length=200, description="User name to assign the event to; null clears it."
    )
    note: str | None = Field(default=None, max_length=4000, description="Free text for the log.")


class NoteBody(BaseModel):
    note: str = Field(min_length=1, max_length=4000, description="Free text for the log.")


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


@router.post("/events/{event_id:int}/assign", summary="Assign an open event to a user")
async def assign(
    conn: WriteConn, who: Analyst, event_id: EventId, body: Assignment
) -> dict[str, Any]:
    row = await event_desk.assign(
        conn, event_id, user=who.user, assignee=body.assignee, note=body.note
    )
    return event_feature(row)


@router.post("/events/{event_id:int}/notes", summary="Add a note to an event's log")
async def add_note(
    conn: WriteConn, who: Analyst, event_id: EventId, body: NoteBody
) -> dict[str, Any]:
    return event_feature(await event_desk.add_note(conn, event_id, user=who.user, note=body.note))


@router.get("/events/{event_id:int}/history", summary="Who did what to an event, oldest first")
async def history(conn: ReadConn, event_id: EventId) -> dict[str, Any]:
    rows = await event_desk.history(conn, event_id)
    return {"event_id": event_id, "entries": [_iso(r) for r in rows]}


@router.get("/events/{event_id:int}/assignees", summary="Users an event may be assigned to")
async def assignees(conn: ReadConn, event_id: EventId) -> dict[str, Any]:
    return {"users": await event_desk.assignees(conn, event_id)}


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
