"""Events in PostGIS: idempotent insert, window replacement for late data, lifecycle
(new → acknowledged → resolved with user, time and note), listing, and NOTIFY.

Every change is announced with ``NOTIFY geomon_events, '{"events": [ids]}'`` inside the
changing transaction, so listeners hear of it exactly when it commits. New events also get a
row per matching notification target in ``notification_deliveries`` (the outbox the notifier
drains), in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg

from geomon.alerts.track import EventDraft
from geomon.errors import Conflict, InvalidRequest, NotFound

EVENTS_CHANNEL = "geomon_events"
SEVERITY_ORDER = ("info", "warning", "critical")

_INSERT = """
INSERT INTO events (agency_id, device_id, zone_id, kind, severity, occurred_at, geom,
                    event_key, dedupe_key, attrs)
SELECT a, d, z, k, s, t,
       CASE WHEN x IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(x, y), 4326) END, ek, dk, at
FROM unnest(%s::int[], %s::int[], %s::int[], %s::text[], %s::text[], %s::timestamptz[],
            %s::float8[], %s::float8[], %s::text[], %s::text[], %s::jsonb[])
     AS u(a, d, z, k, s, t, x, y, ek, dk, at)
ON CONFLICT DO NOTHING
RETURNING id
"""

_ENQUEUE = """
INSERT INTO notification_deliveries (target_id, event_id)
SELECT t.id, e.id FROM events e JOIN notification_targets t
  ON t.active AND (t.agency_id IS NULL OR t.agency_id = e.agency_id)
 AND array_position(%(order)s::text[], e.severity)
     >= array_position(%(order)s::text[], t.min_severity)
 AND (cardinality(t.kinds) = 0 OR e.kind = ANY(t.kinds))
WHERE e.id = ANY(%(ids)s)
ON CONFLICT DO NOTHING
"""


async def notify(conn: psycopg.AsyncConnection, ids: Iterable[int]) -> None:
    ids = sorted(set(ids))
    if ids:
        await conn.execute(
            "SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, json.dumps({"events": ids}))
        )


async def insert_events(
    conn: psycopg.AsyncConnection, drafts: Sequence[EventDraft], agency_of: Mapping[int | None, int]
) -> list[int]:
    """Insert drafts (agency from ``agency_of[device_id]``); already-known keys and a second
    open event with the same dedupe key are skipped. Returns the new ids (notified)."""
    drafts = [d for d in drafts if d.device_id in agency_of]
    if not drafts:
        return []
    cols = (
        [agency_of[d.device_id] for d in drafts],
        [d.device_id for d in drafts],
        [d.zone_id for d in drafts],
        [d.kind for d in drafts],
        [d.severity for d in drafts],
        [d.occurred_at for d in drafts],
        [d.lon for d in drafts],
        [d.lat for d in drafts],
        [d.key for d in drafts],
        [d.dedupe_key for d in drafts],
        [json.dumps(d.attrs, default=str) for d in drafts],
    )
    cur = await conn.execute(_INSERT, cols)
    ids = [int(r[0]) for r in await cur.fetchall()]
    await announce_new(conn, ids)
    return ids


async def announce_new(conn: psycopg.AsyncConnection, ids: Sequence[int]) -> None:
    """For events just inserted by any writer: queue their webhook/MQTT deliveries and NOTIFY
    the live stream (both take effect when the caller commits)."""
    if ids:
        await conn.execute(_ENQUEUE, {"ids": list(ids), "order": list(SEVERITY_ORDER)})
        await notify(conn, ids)


_SUPERSEDED = """
WITH w(device_id, t0, t1) AS (SELECT * FROM unnest(%(d)b::int[], %(t0)b::timestamptz[],
                                                  %(t1)b::timestamptz[])),
stale AS (
  SELECT e.id, e.state FROM events e JOIN w ON e.device_id = w.device_id
   AND e.occurred_at BETWEEN w.t0 AND w.t1
  WHERE e.attrs->>'source' = 'track' AND NOT (e.event_key = ANY(%(keep)b::text[]))
),
gone AS (DELETE FROM events WHERE id IN (SELECT id FROM stale WHERE state = 'new') RETURNING id),
closed AS (
  UPDATE events SET state = 'resolved', resolved_by = 'geomon', resolved_at = now(),
         note = coalesce(note || E'\n', '') || 'superseded: late data changed the track'
  WHERE id IN (SELECT id FROM stale WHERE state <> 'new' AND state <> 'resolved') RETURNING id)
SELECT id FROM gone UNION ALL SELECT id FROM closed
"""


async def supersede(
    conn: psycopg.AsyncConnection,
    windows: Sequence[tuple[int, datetime, datetime]],
    keep_keys: Iterable[str],
) -> list[int]:
    """Track events inside each (device, t0, t1) window whose key the recomputation no longer
    produced: deleted while still ``new``, otherwise resolved with a note. Returns their ids."""
    if not windows:
        return []
    cur = await conn.execute(
        _SUPERSEDED,
        {
            "d": [w[0] for w in windows],
            "t0": [w[1] for w in windows],
            "t1": [w[2] for w in windows],
            "keep": sorted(set(keep_keys)),
        },
    )
    ids = [int(r[0]) for r in await cur.fetchall()]
    await notify(conn, ids)
    return ids


async def resolve_open(
    conn: psycopg.AsyncConnection, dedupe_keys: Sequence[str], *, by: str, note: str
) -> list[int]:
    """Resolve the open events holding these dedupe keys (e.g. a silent team reported)."""
    if not dedupe_keys:
        return []
    cur = await conn.execute(
        "UPDATE events SET state = 'resolved', resolved_by = %s, resolved_at = now(), note = %s "
        "WHERE dedupe_key = ANY(%b) AND state <> 'resolved' RETURNING id",  # binary: 10x
        (by, note, list(dedupe_keys)),
    )
    ids = [int(r[0]) for r in await cur.fetchall()]
    await notify(conn, ids)
    return ids


async def acknowledge(
    conn: psycopg.AsyncConnection, event_id: int, *, user: str, note: str | None = None
) -> dict[str, Any]:
    """new → acknowledged (by ``user``, now)."""
    return await _transition(conn, event_id, "acknowledged", ("new",), user, note)


async def resolve(
    conn: psycopg.AsyncConnection, event_id: int, *, user: str, note: str | None = None
) -> dict[str, Any]:
    """new/acknowledged → resolved (by ``user``, now, with an optional note)."""
    return await _transition(conn, event_id, "resolved", ("new", "acknowledged"), user, note)


async def _transition(
    conn: psycopg.AsyncConnection,
    event_id: int,
    to: str,
    allowed_from: tuple[str, ...],
    user: str,
    note: str | None,
) -> dict[str, Any]:
    col = "acknowledged" if to == "acknowledged" else "resolved"
    cur = await conn.execute(
        f"UPDATE events SET state = %(to)s, {col}_by = %(user)s, {col}_at = now(), "
        "note = CASE WHEN %(note)s::text IS NULL THEN note "
        "ELSE coalesce(note || E'\\n', '') || %(note)s END "
        "WHERE id = %(id)s AND state = ANY(%(from)s) RETURNING id",
        {"to": to, "user": user, "note": note, "id": event_id, "from": list(allowed_from)},
    )
    if await cur.fetchone() is None:
        existing = await get_event(conn, event_id)  # raises NotFound
        raise Conflict(f"event {event_id} is {existing['state']}; cannot become {to}")
    await notify(conn, [event_id])
    return await get_event(conn, event_id)


_COLUMNS = """e.id, e.agency_id, ag.code AS agency, e.device_id, d.uid AS device_uid,
 d.name AS device_name, e.zone_id, z.name AS zone_name, e.kind, e.severity, e.occurred_at,
 ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.state, e.acknowledged_by, e.acknowledged_at,
 e.resolved_by, e.resolved_at, e.note, e.assigned_to, e.assigned_at, e.resolution_note,
 e.attrs, e.created_at"""
_FROM = """FROM events e JOIN agencies ag ON ag.id = e.agency_id
 LEFT JOIN devices d ON d.id = e.device_id LEFT JOIN zones z ON z.id = e.zone_id"""


async def get_event(conn: psycopg.AsyncConnection, event_id: int) -> dict[str, Any]:
    cur = await conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE e.id = %s", (event_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no event {event_id}")
    return dict(zip([c.name for c in cur.description or ()], row, strict=True))


async def list_events(
    conn: psycopg.AsyncConnection,
    *,
    states: Sequence[str] = (),
    kinds: Sequence[str] = (),
    min_severity: str | None = None,
    severities: Sequence[str] = (),
    agencies: Sequence[str] = (),
    assigned_to: str | None = None,
    device_id: int | None = None,
    zone_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    ids: Sequence[int] = (),
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Events, newest first, filtered (row-level security adds the agency filter)."""
    if min_severity is not None and min_severity not in SEVERITY_ORDER:
        raise InvalidRequest(f"severity must be one of {SEVERITY_ORDER}")
    cur = await conn.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE "
        "(cardinality(%(states)s::text[]) = 0 OR e.state = ANY(%(states)s)) AND "
        "(cardinality(%(kinds)s::text[]) = 0 OR e.kind = ANY(%(kinds)s)) AND "
        "(cardinality(%(ids)s::bigint[]) = 0 OR e.id = ANY(%(ids)s)) AND "
        "(cardinality(%(sevs)s::text[]) = 0 OR e.severity = ANY(%(sevs)s)) AND "
        "(cardinality(%(agencies)s::text[]) = 0 OR ag.code = ANY(%(agencies)s)) AND "
        "(%(assignee)s::text IS NULL OR e.assigned_to = %(assignee)s) AND "
        "array_position(%(order)s::text[], e.severity) >= "
        "coalesce(array_position(%(order)s::text[], %(sev)s::text), 1) AND "
        "(%(dev)s::int IS NULL OR e.device_id = %(dev)s) AND "
        "(%(zone)s::int IS NULL OR e.zone_id = %(zone)s) AND "
        "(%(since)s::timestamptz IS NULL OR e.occurred_at >= %(since)s) AND "
        "(%(until)s::timestamptz IS NULL OR e.occurred_at < %(until)s) "
        "ORDER BY e.occurred_at DESC, e.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {
            "states": list(states),
            "kinds": list(kinds),
            "ids": list(ids),
            "sevs": list(severities),
            "agencies": list(agencies),
            "assignee": assigned_to,
            "order": list(SEVERITY_ORDER),
            "sev": min_severity,
            "dev": device_id,
            "zone": zone_id,
            "since": since,
            "until": until,
            "limit": limit,
            "offset": offset,
        },
    )
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]
