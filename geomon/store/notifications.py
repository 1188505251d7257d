"""Notification targets (webhook / MQTT) and the delivery outbox + log.

:func:`geomon.store.events.insert_events` adds one ``pending`` delivery per matching target in
the event's own transaction; the notifier claims due deliveries with ``FOR UPDATE SKIP
LOCKED``, sends them, and records the outcome (delivered, or retried later with back-off,
or failed after the last attempt).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

from geomon.errors import InvalidRequest
from geomon.store.devices import ensure_agency

_CLAIM = """
SELECT n.id, n.attempts, t.channel, t.url, t.secret, e.id, e.kind, e.severity, e.occurred_at,
       ST_X(e.geom), ST_Y(e.geom), e.state, ag.code, d.uid, e.zone_id, e.attrs
FROM notification_deliveries n
JOIN notification_targets t ON t.id = n.target_id
JOIN events e ON e.id = n.event_id
JOIN agencies ag ON ag.id = e.agency_id
LEFT JOIN devices d ON d.id = e.device_id
WHERE n.status = 'pending' AND n.next_attempt_at <= now()
ORDER BY n.next_attempt_at, n.id
LIMIT %s
FOR UPDATE OF n SKIP LOCKED
"""


def add_target(
    conn: psycopg.Connection,
    *,
    channel: str,
    url: str,
    secret: str = "",
    agency: str | None = None,
    min_severity: str = "warning",
    kinds: list[str] | None = None,
) -> int:
    if channel == "webhook" and not url.startswith(("http://", "https://")):
        raise InvalidRequest("a webhook URL starts with http:// or https://")
    if channel == "mqtt" and not url.startswith("mqtt://"):
        raise InvalidRequest("an MQTT target looks like mqtt://host:port/topic")
    agency_id = ensure_agency(conn, agency) if agency else None
    row = conn.execute(
        "INSERT INTO notification_targets (agency_id, channel, url, secret, min_severity, kinds) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (agency_id, channel, url, secret, min_severity, kinds or []),
    ).fetchone()
    assert row is not None
    return int(row[0])


async def claim_due(conn: psycopg.AsyncConnection, limit: int = 50) -> list[dict[str, Any]]:
    """Due deliveries, locked until the caller's transaction ends."""
    cur = await conn.execute(_CLAIM, (limit,))
    keys = (
        "delivery_id",
        "attempts",
        "channel",
        "url",
        "secret",
        "id",
        "kind",
        "severity",
        "occurred_at",
        "lon",
        "lat",
        "state",
        "agency",
        "device_uid",
        "zone_id",
        "attrs",
    )
    return [dict(zip(keys, r, strict=True)) for r in await cur.fetchall()]


async def record_attempt(
    conn: psycopg.AsyncConnection,
    delivery_id: int,
    *,
    ok: bool,
    status: int | None,
    error: str | None,
    retry_in: timedelta | None,
) -> None:
    """Log one attempt: delivered, pending again after ``retry_in``, or failed for good."""
    state = "delivered" if ok else ("pending" if retry_in is not None else "failed")
    await conn.execute(
        "UPDATE notification_deliveries SET attempts = attempts + 1, status = %s, "
        "last_status = %s, last_error = %s, "
        "delivered_at = CASE WHEN %s THEN now() END, "
        "next_attempt_at = now() + coalesce(%s::interval, interval '0') WHERE id = %s",
        (state, status, error, ok, retry_in, delivery_id),
    )


async def deliveries(conn: psycopg.AsyncConnection, event_id: int) -> list[tuple[Any, ...]]:
    cur = await conn.execute(
        "SELECT target_id, status, attempts, last_status, last_error FROM "
        "notification_deliveries WHERE event_id = %s ORDER BY target_id",
        (event_id,),
    )
    return list(await cur.fetchall())
