"""A plate's reads across posts, in time order, under the caller's row-level security (an
agency sees its own posts' reads and those shared with it, scope ``observations``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

# Served by ix_observations_plate_norm_observed_at (plate_norm, observed_at).
_READS = """
SELECT o.id, o.observed_at, o.text AS raw, o.value AS confidence, o.plate_country,
       d.uid AS sensor, a.code AS agency, p.id AS place_id, p.name AS place,
       p.countries, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       o.attrs->>'direction' AS direction, o.attrs->>'lane' AS lane,
       o.attrs->>'image_ref' AS image_ref
FROM observations o
JOIN devices d ON d.id = o.sensor_id
JOIN agencies a ON a.id = d.agency_id
LEFT JOIN places p ON p.id = d.place_id
WHERE o.plate_norm = %(plate)s AND o.observed_at >= %(since)s AND o.observed_at < %(until)s
ORDER BY o.observed_at, o.id
LIMIT %(limit)s
"""


async def plate_reads(
    conn: psycopg.AsyncConnection, plate: str, since: datetime, until: datetime, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` reads of the normalised ``plate`` in [since, until), oldest first, and
    whether there were more."""
    async with conn.cursor(row_factory=dict_row) as cur:
        params = {"plate": plate, "since": since, "until": until, "limit": limit + 1}
        await cur.execute(_READS, params)
        rows = list(await cur.fetchall())
    return rows[:limit], len(rows) > limit
