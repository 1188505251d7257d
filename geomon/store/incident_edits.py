"""Incident writes and reads for the REST API, under the caller's row-level security (plain
INSERTs: PostgreSQL refuses COPY FROM on tables with row-level security)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from geomon.errors import NotFound

_COLS = (
    "id",
    "agency",
    "category",
    "quantity",
    "unit",
    "occurred_at",
    "source",
    "attrs",
    "lon",
    "lat",
)
_SELECT = """
SELECT i.id, a.code, i.category, i.quantity, i.unit, i.occurred_at, i.source, i.attrs,
       ST_X(i.geom), ST_Y(i.geom) FROM incidents i JOIN agencies a ON a.id = i.agency_id
"""
_INSERT = """
INSERT INTO incidents (agency_id, category, quantity, unit, occurred_at, geom, source, attrs)
SELECT %s, c, q, u, t, ST_SetSRID(ST_MakePoint(x, y), 4326), %s, at
FROM unnest(%s::text[], %s::float8[], %s::text[], %s::timestamptz[], %s::float8[],
            %s::float8[], %s::jsonb[]) AS r(c, q, u, t, x, y, at)
RETURNING id
"""


async def get_incident(conn: psycopg.AsyncConnection, incident_id: int) -> dict[str, Any]:
    cur = await conn.execute(_SELECT + "WHERE i.id = %s", (incident_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return dict(zip(_COLS, row, strict=True))


async def insert_incidents(
    conn: psycopg.AsyncConnection, rows: list[dict[str, Any]], *, agency_id: int, source: str
) -> list[int]:
    """Insert validated rows (see geomon.incident_files) in one statement; returns their ids."""
    cur = await conn.execute(
        _INSERT,
        (
            agency_id,
            source,
            [r["category"] for r in rows],
            [r["quantity"] for r in rows],
            [r["unit"] for r in rows],
            [r["occurred_at"] for r in rows],
            [r["lon"] for r in rows],
            [r["lat"] for r in rows],
            [json.dumps(r["attrs"], default=str) for r in rows],
        ),
    )
    return [int(r[0]) for r in await cur.fetchall()]


async def update_incident(
    conn: psycopg.AsyncConnection, incident_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change category, quantity, unit, occurred_at, attrs and/or the point (lon+lat)."""
    sets, params = [], []
    for col in ("category", "quantity", "unit", "occurred_at"):
        if col in changes:
            sets.append(f"{col} = %s")
            params.append(changes[col])
    if "attrs" in changes:
        sets.append("attrs = %s")
        params.append(json.dumps(changes["attrs"], default=str))
    if "lon" in changes and "lat" in changes:
        sets.append("geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326)")
        params += [changes["lon"], changes["lat"]]
    if sets:
        cur = await conn.execute(
            f"UPDATE incidents SET {', '.join(sets)} WHERE id = %s", (*params, incident_id)
        )
        if cur.rowcount == 0:
            raise NotFound(f"no incident {incident_id} you may change")
    return await get_incident(conn, incident_id)
