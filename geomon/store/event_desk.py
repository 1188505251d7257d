"""The event desk: acknowledge, assign and resolve an event, each with a row in the
append-only ``event_history`` (migration 0023) written in the same transaction.

The lifecycle itself (state, who, when, the running ``note``) stays in
:mod:`geomon.store.events`; this module adds who an event is assigned to, the resolution note
and the history. Row-level security applies to both tables alike: an analyst of the owning
agency may change an event and append to its history; agencies it shares events with read both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geomon.errors import Conflict, InvalidRequest
from geomon.store import events as event_store

_RECORD = (
    "INSERT INTO event_history (event_id, agency_id, action, by, note, detail) "
    "SELECT id, agency_id, %s, %s, %s, %s FROM events WHERE id = %s"
)


async def record(
    conn: psycopg.AsyncConnection,
    event_id: int,
    action: str,
    *,
    by: str,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one history row for ``event_id`` (its agency copied from the event)."""
    await conn.execute(_RECORD, (action, by, note or "", Jsonb(detail or {}), event_id))


async def acknowledge(
    conn: psycopg.AsyncConnection, event_id: int, *, user: str, note: str | None = None
) -> dict[str, Any]:
    """new → acknowledged, with its history row."""
    await event_store.acknowledge(conn, event_id, user=user, note=note)
    await record(conn, event_id, "acknowledge", by=user, note=note)
    return await event_store.get_event(conn, event_id)


async def resolve(
    conn: psycopg.AsyncConnection, event_id: int, *, user: str, note: str | None = None
) -> dict[str, Any]:
    """new/acknowledged → resolved; ``note`` is kept as the resolution note too."""
    await event_store.resolve(conn, event_id, user=user, note=note)
    await conn.execute("UPDATE events SET resolution_note = %s WHERE id = %s", (note, event_id))
    await record(conn, event_id, "resolve", by=user, note=note)
    return await event_store.get_event(conn, event_id)


_ASSIGNABLE = (
    "SELECT u.name, u.role FROM users u JOIN events e ON e.id = %s "
    "WHERE NOT u.disabled AND (u.agency_id = e.agency_id OR u.role = 'admin') "
)


async def assignees(conn: psycopg.AsyncConnection, event_id: int) -> list[dict[str, str]]:
    """Users an event may be assigned to: the active users of its agency (and admins)."""
    await event_store.get_event(conn, event_id)  # NotFound when invisible
    cur = await conn.execute(_ASSIGNABLE + "ORDER BY u.name", (event_id,))
    return [{"name": r[0], "role": r[1]} for r in await cur.fetchall()]


async def assign(
    conn: psycopg.AsyncConnection,
    event_id: int,
    *,
    user: str,
    assignee: str | None,
    note: str | None = None,
) -> dict[str, Any]:
    """Assign an open event to ``assignee`` (``None`` clears it), with its history row."""
    existing = await event_store.get_event(conn, event_id)  # NotFound when invisible
    if assignee is not None:
        cur = await conn.execute(_ASSIGNABLE + "AND u.name = %s", (event_id, assignee))
        if await cur.fetchone() is None:
            raise InvalidRequest(f"no active user {assignee!r} in the event's agency")
    cur = await conn.execute(
        "UPDATE events SET assigned_to = %s, assigned_at = CASE WHEN %s::text IS NULL THEN NULL "
        "ELSE now() END WHERE id = %s AND state <> 'resolved' RETURNING id",
        (assignee, assignee, event_id),
    )
    if await cur.fetchone() is None:
        raise Conflict(f"event {event_id} is {existing['state']}; cannot be assigned")
    await record(
        conn,
        event_id,
        "assign",
        by=user,
        note=note,
        detail={"assigned_to": assignee, "previous": existing["assigned_to"]},
    )
    await event_store.notify(conn, [event_id])
    return await event_store.get_event(conn, event_id)


async def add_note(
    conn: psycopg.AsyncConnection, event_id: int, *, user: str, note: str
) -> dict[str, Any]:
    """A note on the event's log without changing its state."""
    cur = await conn.execute(
        "UPDATE events SET note = coalesce(note || E'\\n', '') || %s WHERE id = %s RETURNING id",
        (note, event_id),
    )
    if await cur.fetchone() is None:
        await event_store.get_event(conn, event_id)  # NotFound, or RLS refused the write
        raise InvalidRequest(f"event {event_id} cannot be changed")
    await record(conn, event_id, "note", by=user, note=note)
    return await event_store.get_event(conn, event_id)


def _synthetic(event: dict[str, Any], recorded: Sequence[str]) -> list[dict[str, Any]]:
    """What the event's own columns say happened but the history does not hold (raised; acts
    before migration 0023; resolutions by geomon itself, e.g. late data)."""
    out = [
        {"action": "raised", "at": event["occurred_at"], "by": "geomon", "note": "", "detail": {}}
    ]
    if event["acknowledged_at"] is not None and "acknowledge" not in recorded:
        out.append(
            {
                "action": "acknowledge",
                "at": event["acknowledged_at"],
                "by": event["acknowledged_by"] or "",
                "note": "",
                "detail": {},
            }
        )
    if event["resolved_at"] is not None and "resolve" not in recorded:
        out.append(
            {
                "action": "resolve",
                "at": event["resolved_at"],
                "by": event["resolved_by"] or "",
                "note": event["resolution_note"] or "",
                "detail": {},
            }
        )
    return out


async def history(conn: psycopg.AsyncConnection, event_id: int) -> list[dict[str, Any]]:
    """The event's history, oldest first: raised, then every recorded action."""
    event = await event_store.get_event(conn, event_id)  # NotFound when invisible
    cur = await conn.execute(
        "SELECT action, at, by, note, detail FROM event_history WHERE event_id = %s ORDER BY id",
        (event_id,),
    )
    rows = [
        {"action": r[0], "at": r[1], "by": r[2], "note": r[3], "detail": r[4]}
        for r in await cur.fetchall()
    ]
    out = _synthetic(event, [r["action"] for r in rows]) + rows
    return sorted(out, key=lambda r: r["at"])
