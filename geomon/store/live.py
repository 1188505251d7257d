"""Reads behind the live stream: the channels it listens on and events by id.

Positions writers NOTIFY ``geomon_live`` with ``{"devices": [ids]}`` and event writers NOTIFY
``geomon_events`` with ``{"events": [ids]}``, both inside their transactions (delivered on
commit). The stream re-reads the rows under the subscriber's row-level security.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

LIVE_CHANNEL = "geomon_live"
EVENTS_CHANNEL = "geomon_events"


async def listener(url: str, *channels: str) -> psycopg.AsyncConnection:
    """A new autocommit connection LISTENing on ``channels`` (the caller closes it: ``async
    with await listener(...)``); notifications arrive through ``conn.notifies()``."""
    conn = await psycopg.AsyncConnection.connect(
        url, autocommit=True, application_name="geomon-live"
    )
    try:
        for channel in channels:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    except BaseException:
        await conn.close()
        raise
    return conn


_EVENTS = """
SELECT e.id, a.code, e.device_id, e.zone_id, e.kind, e.severity, e.state, e.occurred_at,
       ST_X(e.geom), ST_Y(e.geom), e.attrs
FROM events e JOIN agencies a ON a.id = e.agency_id
WHERE e.id = ANY(%s) ORDER BY e.id
"""
_EVENT_KEYS = (
    "id",
    "agency",
    "device_id",
    "zone_id",
    "kind",
    "severity",
    "state",
    "occurred_at",
    "lon",
    "lat",
    "attrs",
)


async def events_by_ids(conn: psycopg.AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    """The events ``ids`` the caller may see, as plain dicts."""
    cur = await conn.execute(_EVENTS, (ids,))
    return [dict(zip(_EVENT_KEYS, row, strict=True)) for row in await cur.fetchall()]
