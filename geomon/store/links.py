"""Links (migration 0032): from an entity to an entity, case, incident, observation or event.

A link is only shown when the caller may see both its ends (and neither is deleted): the
joins below run under RLS, so a row the caller cannot see simply drops out. Creating a link
checks both ends the same way first and answers NotFound — with the same words as for a row
that does not exist — so nobody learns that a hidden row is there.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from geomon.errors import InvalidRequest, NotFound
from geomon.store.schema_entities import TARGET_COLUMNS

# One row per visible target: its node type, label and time (a case's, an incident's…).
TARGET_SQL = {
    "entity": "SELECT e.id, e.kind, e.label, NULL::timestamptz FROM entities e "
    "WHERE e.id = ANY(%s) AND e.deleted_at IS NULL",
    "case": "SELECT c.id, 'case', c.category || ' ' || c.external_id, c.occurred_at "
    "FROM cases c WHERE c.id = ANY(%s) AND c.deleted_at IS NULL",
    "incident": "SELECT i.id, 'incident', i.category, i.occurred_at FROM incidents i "
    "WHERE i.id = ANY(%s)",
    "observation": "SELECT b.id, 'observation', b.kind || ' ' || coalesce(b.text, ''), "
    "b.observed_at FROM observations b WHERE b.id = ANY(%s)",
    "event": "SELECT v.id, 'event', v.kind, v.occurred_at FROM events v WHERE v.id = ANY(%s)",
}
_LINK_SELECT = """
SELECT l.id, a.code AS agency, l.kind, l.entity_id,
  CASE WHEN l.other_entity_id IS NOT NULL THEN 'entity' WHEN l.case_id IS NOT NULL THEN 'case'
       WHEN l.incident_id IS NOT NULL THEN 'incident'
       WHEN l.observation_id IS NOT NULL THEN 'observation' ELSE 'event' END AS to_kind,
  coalesce(l.other_entity_id, l.case_id, l.incident_id, l.observation_id, l.event_id) AS to_id,
  e.label AS entity_label,
  coalesce(o.label, c.category || ' ' || c.external_id, i.category,
           b.kind || ' ' || coalesce(b.text, ''), v.kind) AS to_label,
  l.source, l.confidence, l.valid_from, l.valid_until, l.note, l.added_by, l.added_at,
  l.deleted_at, l.deleted_by, l.deleted_why
FROM links l
JOIN agencies a ON a.id = l.agency_id
JOIN entities e ON e.id = l.entity_id AND e.deleted_at IS NULL
LEFT JOIN entities o ON o.id = l.other_entity_id AND o.deleted_at IS NULL
LEFT JOIN cases c ON c.id = l.case_id AND c.deleted_at IS NULL
LEFT JOIN incidents i ON i.id = l.incident_id
LEFT JOIN observations b ON b.id = l.observation_id
LEFT JOIN events v ON v.id = l.event_id
WHERE coalesce(o.id, c.id, i.id, b.id, v.id) IS NOT NULL
"""
_GET = _LINK_SELECT + " AND l.id = %s"
_LIST = (
    _LINK_SELECT
    + """
  AND (%(deleted)s OR l.deleted_at IS NULL)
  AND (%(entity)s::bigint IS NULL OR l.entity_id = %(entity)s OR l.other_entity_id = %(entity)s)
  AND (%(case)s::bigint IS NULL OR l.case_id = %(case)s)
  AND (%(kind)s::text IS NULL OR l.kind = %(kind)s)
  AND l.id > %(after)s
ORDER BY l.id LIMIT %(limit)s
"""
)
# Links touching any of the given nodes: one step of a walk, the links table only (its RLS).
# The walker then checks which far ends the caller may see with primary-key lookups
# (VISIBLE_IDS): joining them here made PostgreSQL hash every visible case, entity and
# observation to answer a few links (bench/entities.py).
VISIBLE_IDS = {
    "entity": "SELECT 'entity', id FROM entities WHERE id = ANY(%s) AND deleted_at IS NULL",
    "case": "SELECT 'case', id FROM cases WHERE id = ANY(%s) AND deleted_at IS NULL",
    "incident": "SELECT 'incident', id FROM incidents WHERE id = ANY(%s)",
    "observation": "SELECT 'observation', id FROM observations WHERE id = ANY(%s)",
    "event": "SELECT 'event', id FROM events WHERE id = ANY(%s)",
}
_LINK_COLUMNS = """l.id, a.code AS agency, l.kind, l.entity_id,
  CASE WHEN l.other_entity_id IS NOT NULL THEN 'entity' WHEN l.case_id IS NOT NULL THEN 'case'
       WHEN l.incident_id IS NOT NULL THEN 'incident'
       WHEN l.observation_id IS NOT NULL THEN 'observation' ELSE 'event' END AS to_kind,
  coalesce(l.other_entity_id, l.case_id, l.incident_id, l.observation_id, l.event_id) AS to_id,
  l.source, l.confidence, l.valid_from, l.valid_until, l.note, l.added_by, l.added_at,
  l.deleted_at, l.deleted_by, l.deleted_why"""
TOUCHING = f"""
SELECT {_LINK_COLUMNS}
FROM links l JOIN agencies a ON a.id = l.agency_id
WHERE l.deleted_at IS NULL
  AND (l.entity_id = ANY(%(entity)s) OR l.other_entity_id = ANY(%(entity)s)
       OR l.case_id = ANY(%(case)s) OR l.incident_id = ANY(%(incident)s)
       OR l.observation_id = ANY(%(observation)s) OR l.event_id = ANY(%(event)s))
ORDER BY l.id LIMIT %(limit)s
"""
_INSERT = """
INSERT INTO links (agency_id, kind, entity_id, {column}, source, confidence, valid_from,
  valid_until, note, added_by)
VALUES (%(agency_id)s, %(kind)s, %(entity_id)s, %(to_id)s, %(source)s, %(confidence)s,
  %(valid_from)s, %(valid_until)s, %(note)s, %(by)s)
RETURNING id
"""
_LINK_READS = """
WITH reads AS (
  SELECT o.id FROM observations o
  WHERE o.plate_norm = %(plate)s AND o.observed_at >= %(since)s AND o.observed_at < %(until)s
    AND NOT EXISTS (SELECT 1 FROM links l WHERE l.observation_id = o.id
                    AND l.entity_id = %(entity)s AND l.deleted_at IS NULL)
  ORDER BY o.observed_at DESC LIMIT %(limit)s
)
INSERT INTO links (agency_id, kind, entity_id, observation_id, source, confidence, valid_from,
  added_by)
SELECT %(agency)s, 'seen_in', %(entity)s, r.id, 'plate match',
  CASE WHEN o.value >= 0 AND o.value <= 1 THEN o.value END, o.observed_at, %(by)s
FROM reads r JOIN observations o ON o.id = r.id
RETURNING id
"""
_DELETE = """
UPDATE links SET deleted_at = now(), deleted_by = %s, deleted_why = %s
WHERE id = %s AND deleted_at IS NULL RETURNING id
"""


async def visible_ids(
    conn: psycopg.AsyncConnection, ids: dict[str, list[int]]
) -> set[tuple[str, int]]:
    """Which of ``ids`` ({to_kind: ids}) the caller may see, live: one round trip."""
    kinds = [k for k, v in ids.items() if v]
    if not kinds:
        return set()
    sql = " UNION ALL ".join(VISIBLE_IDS[k] for k in kinds)
    cur = await conn.execute(sql, [ids[k] for k in kinds])
    return {(str(r[0]), int(r[1])) for r in await cur.fetchall()}


async def visible_targets(
    conn: psycopg.AsyncConnection, to_kind: str, ids: list[int]
) -> dict[int, tuple[str, str, Any]]:
    """``{id: (type, label, time)}`` of the rows of ``to_kind`` the caller may see."""
    cur = await conn.execute(TARGET_SQL[to_kind], (ids,))
    return {int(r[0]): (r[1], r[2], r[3]) for r in await cur.fetchall()}


async def require_visible(conn: psycopg.AsyncConnection, to_kind: str, row_id: int) -> None:
    """NotFound unless the caller may see the live row (same words whether it is hidden or
    absent: no existence leak)."""
    if row_id not in await visible_targets(conn, to_kind, [row_id]):
        raise NotFound(f"no {to_kind} {row_id}")


async def create_link(
    conn: psycopg.AsyncConnection,
    link: dict[str, Any],
    *,
    entity_id: int,
    to_id: int,
    agency_id: int,
    by: str,
) -> int:
    """Insert a normalised link (geomon.entities.normalise_link) after checking both ends."""
    await require_visible(conn, "entity", entity_id)
    await require_visible(conn, link["to_kind"], to_id)
    if link["to_kind"] == "entity" and to_id == entity_id:
        raise InvalidRequest("a link needs two different entities")
    sql = _INSERT.format(column=TARGET_COLUMNS[link["to_kind"]])
    params = {**link, "agency_id": agency_id, "entity_id": entity_id, "to_id": to_id, "by": by}
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def get_link(conn: psycopg.AsyncConnection, link_id: int) -> dict[str, Any]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_GET, (link_id,))
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no link {link_id}")
    return row


async def list_links(
    conn: psycopg.AsyncConnection,
    *,
    entity: int | None = None,
    case: int | None = None,
    kind: str | None = None,
    after: int = 0,
    limit: int = 100,
    deleted: bool = False,
) -> list[dict[str, Any]]:
    params = {
        "entity": entity,
        "case": case,
        "kind": kind,
        "after": after,
        "limit": limit,
        "deleted": deleted,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LIST, params)
        return await cur.fetchall()


async def touching(
    conn: psycopg.AsyncConnection, nodes: dict[str, list[int]], limit: int
) -> list[dict[str, Any]]:
    """Live links touching any of ``nodes`` ({to_kind: ids}), as :func:`get_link` gives them
    but without the labels; the caller checks that their far ends are visible."""
    params: dict[str, Any] = {k: nodes.get(k, []) for k in TARGET_COLUMNS}
    params["limit"] = limit
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(TOUCHING, params)
        return await cur.fetchall()


async def link_plate_reads(
    conn: psycopg.AsyncConnection,
    entity: dict[str, Any],
    *,
    since: Any,
    until: Any,
    limit: int,
    agency_id: int,
    by: str,
) -> int:
    """Link a vehicle to its plate reads (``seen_in``, source ``plate match``, the read's
    confidence and time) that the caller may see and that are not linked yet; the newest
    ``limit`` in [since, until). Returns how many links were made."""
    params = {"plate": entity["plate"], "since": since, "until": until, "limit": limit}
    params.update(entity=entity["id"], agency=agency_id, by=by)
    cur = await conn.execute(_LINK_READS, params)
    return len(await cur.fetchall())


async def delete_link(conn: psycopg.AsyncConnection, link_id: int, *, by: str, why: str) -> None:
    """Soft delete; NotFound when not visible, not the caller's agency's, or already gone."""
    link = await get_link(conn, link_id)
    if link["deleted_at"] is not None:
        raise NotFound(f"no link {link_id}")
    cur = await conn.execute(_DELETE, (by, why, link_id))
    if await cur.fetchone() is None:
        raise NotFound(f"no link {link_id} of your agency")
