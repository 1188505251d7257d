"""What ``geomon tak stream`` sends: an agency's teams (latest fixes) and its open critical
events. The CLI connects as the owner, so the agency is a filter here, not RLS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

_TEAMS = """
SELECT d.uid, COALESCE(NULLIF(d.name, ''), d.uid), ST_Y(l.geom), ST_X(l.geom), l.fix_time,
       NULL::float8 AS hdop  -- device_latest keeps no HDOP: CoT says "unknown"
FROM device_latest l JOIN devices d ON d.id = l.device_id
WHERE d.agency_id = %(agency)s AND l.fix_time >= %(since)s AND d.kind <> 'sensor' AND d.active
ORDER BY d.uid
"""
_EVENTS = """
SELECT e.id, e.kind, e.state, e.occurred_at, ST_Y(e.geom), ST_X(e.geom),
       COALESCE(d.name, d.uid, '')
FROM events e LEFT JOIN devices d ON d.id = e.device_id
WHERE e.agency_id = %(agency)s AND e.severity = 'critical' AND e.state <> 'resolved'
  AND e.geom IS NOT NULL AND e.occurred_at >= %(since)s
ORDER BY e.id
"""


def teams(conn: psycopg.Connection, agency_id: int, since: datetime) -> list[tuple[Any, ...]]:
    """(uid, name, lat, lon, fix_time, hdop) of the agency's devices seen since ``since``."""
    return conn.execute(_TEAMS, {"agency": agency_id, "since": since}).fetchall()


def critical_events(
    conn: psycopg.Connection, agency_id: int, since: datetime
) -> list[tuple[Any, ...]]:
    """(id, kind, state, occurred_at, lat, lon, device name) of open critical events."""
    return conn.execute(_EVENTS, {"agency": agency_id, "since": since}).fetchall()
