"""Counts for the console's dashboard panel: events per hour by kind and incidents per week by
category, bucketed in the viewer's time zone (row-level security limits the agencies).

Buckets are returned as UTC instants of the bucket's local start (the API stays in UTC); the
console labels them in the user's zone. Empty buckets are not returned: the chart fills them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg


async def events_per_hour(
    conn: psycopg.AsyncConnection, *, since: datetime, until: datetime, time_zone: str
) -> list[dict[str, Any]]:
    """[{"at": hour start, "kind": …, "count": n}] for events in [since, until)."""
    cur = await conn.execute(
        "SELECT date_trunc('hour', occurred_at, %(tz)s) AS at, kind, count(*) FROM events "
        "WHERE occurred_at >= %(since)s AND occurred_at < %(until)s "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        {"tz": time_zone, "since": since, "until": until},
    )
    return [{"at": r[0], "kind": r[1], "count": int(r[2])} for r in await cur.fetchall()]


async def incidents_per_week(
    conn: psycopg.AsyncConnection,
    *,
    since: datetime,
    until: datetime,
    time_zone: str,
    categories: list[str] | None = None,
) -> list[dict[str, Any]]:
    """[{"at": week start (Monday 00:00 local), "category": …, "count": n}]."""
    cur = await conn.execute(
        "SELECT date_trunc('week', occurred_at, %(tz)s) AS at, category, count(*) FROM incidents "
        "WHERE occurred_at >= %(since)s AND occurred_at < %(until)s "
        "AND (cardinality(%(cats)s::text[]) = 0 OR category = ANY(%(cats)s)) "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        {"tz": time_zone, "since": since, "until": until, "cats": categories or []},
    )
    return [{"at": r[0], "category": r[1], "count": int(r[2])} for r in await cur.fetchall()]


async def incident_categories(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """The incident categories the caller can see, with counts (the map's filter offers them)."""
    cur = await conn.execute(
        "SELECT category, count(*) FROM incidents GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    return [{"category": r[0], "count": int(r[1])} for r in await cur.fetchall()]
