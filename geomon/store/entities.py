"""Entities (migration 0032): create, read, search, soft delete — under the caller's RLS.

Rows come back as plain dicts (times as datetimes). An entity is visible when its agency is
the caller's own or shares the scope ``entities`` with it; writes only touch the caller's own
agency's rows (the policies decide, not this module).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from geomon.errors import Conflict, NotFound

ENTITY_COLUMNS = (
    "e.id, a.code AS agency, e.kind, e.identity, e.label, e.name, e.born_on, e.plate, "
    "e.plate_raw, e.plate_country, e.vin, e.imei, e.msisdn, e.note, e.source, e.added_by, "
    "e.added_at, e.updated_at, e.deleted_at, e.deleted_by, e.deleted_why"
)
_FROM = "FROM entities e JOIN agencies a ON a.id = e.agency_id"
_GET = f"SELECT {ENTITY_COLUMNS} {_FROM} WHERE e.id = %s"
_SAME = (
    "SELECT id FROM entities WHERE agency_id = %s AND kind = %s AND identity = %s "
    "AND deleted_at IS NULL"
)
_INSERT = """
INSERT INTO entities (agency_id, kind, identity, label, name, born_on, plate, plate_raw,
  plate_country, vin, imei, msisdn, attrs, note, source, added_by, updated_by)
VALUES (%(agency_id)s, %(kind)s, %(identity)s, %(label)s, %(name)s, %(born_on)s, %(plate)s,
  %(plate_raw)s, %(plate_country)s, %(vin)s, %(imei)s, %(msisdn)s, %(attrs)s, %(note)s,
  %(source)s, %(by)s, %(by)s)
RETURNING id
"""
_DELETE = """
UPDATE entities SET deleted_at = now(), deleted_by = %s, deleted_why = %s
WHERE id = %s AND deleted_at IS NULL RETURNING id
"""
_SEARCH = f"""
SELECT {ENTITY_COLUMNS} {_FROM}
WHERE (%(deleted)s OR e.deleted_at IS NULL)
  AND (%(kind)s::text IS NULL OR e.kind = %(kind)s)
  AND (%(q)s::text IS NULL OR e.label ILIKE %(q)s OR e.name ILIKE %(q)s
       OR e.identity ILIKE %(q)s)
  AND (%(plate)s::text IS NULL OR e.plate = %(plate)s)
  AND (%(phone)s::text IS NULL OR e.imei = %(phone)s OR e.msisdn = %(phone)s
       OR e.msisdn LIKE %(phone_tail)s)
  AND e.id > %(after)s
ORDER BY e.id LIMIT %(limit)s
"""


async def agency_id(conn: psycopg.AsyncConnection, code: str) -> int:
    """The id of agency ``code``; NotFound when there is none."""
    cur = await conn.execute("SELECT id FROM agencies WHERE code = %s", (code,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no agency {code!r}")
    return int(row[0])


def like_pattern(text: str) -> str:
    """``text`` anywhere in a value, its own ``%``/``_`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _row(conn: psycopg.AsyncConnection, sql: str, params: Any) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return await cur.fetchone()


async def get_entity(conn: psycopg.AsyncConnection, entity_id: int) -> dict[str, Any]:
    """One entity the caller may see (deleted ones too); NotFound otherwise."""
    row = await _row(conn, _GET, (entity_id,))
    if row is None:
        raise NotFound(f"no entity {entity_id}")
    return row


async def live_entity(conn: psycopg.AsyncConnection, entity_id: int) -> dict[str, Any]:
    """An entity the caller may see and that is not deleted; NotFound otherwise."""
    row = await get_entity(conn, entity_id)
    if row["deleted_at"] is not None:
        raise NotFound(f"no entity {entity_id}")
    return row


async def find_same(
    conn: psycopg.AsyncConnection, agency_id: int, kind: str, identity: str | None
) -> int | None:
    """The live entity of ``agency_id`` with this kind and identity, if any."""
    if identity is None:
        return None
    cur = await conn.execute(_SAME, (agency_id, kind, identity))
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def create_entity(
    conn: psycopg.AsyncConnection, entity: dict[str, Any], *, agency_id: int, by: str
) -> int:
    """Insert a normalised entity (geomon.entities.normalise_entity); Conflict when a live
    entity of the agency has the same kind and identity."""
    same = await find_same(conn, agency_id, entity["kind"], entity["identity"])
    if same is not None:
        raise Conflict(f"{entity['kind']} {entity['identity']!r} exists already as entity {same}")
    params = {**entity, "agency_id": agency_id, "by": by}
    params["attrs"] = Jsonb(entity.get("attrs") or {})
    try:
        cur = await conn.execute(_INSERT, params)
    except psycopg.errors.UniqueViolation:  # a concurrent insert of the same identity
        raise Conflict(f"{entity['kind']} {entity['identity']!r} exists already") from None
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def delete_entity(
    conn: psycopg.AsyncConnection, entity_id: int, *, by: str, why: str
) -> None:
    """Soft delete; NotFound when not visible, not the caller's to change, or already gone."""
    await live_entity(conn, entity_id)
    cur = await conn.execute(_DELETE, (by, why, entity_id))
    if await cur.fetchone() is None:
        raise NotFound(f"no entity {entity_id} of your agency")


async def search_entities(
    conn: psycopg.AsyncConnection,
    *,
    q: str | None = None,
    kind: str | None = None,
    plate: str | None = None,
    phone: str | None = None,
    after: int = 0,
    limit: int = 100,
    deleted: bool = False,
) -> list[dict[str, Any]]:
    """Entities in id order: ``q`` in label/name/identity, a normalised ``plate``, a normalised
    ``phone`` (IMEI, full number, or the tail digits of a number)."""
    params = {
        "q": None if q is None else like_pattern(q),
        "kind": kind,
        "plate": plate,
        "phone": phone,
        "phone_tail": None if phone is None else "%" + phone.lstrip("+"),
        "after": after,
        "limit": limit,
        "deleted": deleted,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SEARCH, params)
        return await cur.fetchall()


async def search_by_ids(conn: psycopg.AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    """The live entities among ``ids`` that the caller may see, in id order."""
    if not ids:
        return []
    sql = f"SELECT {ENTITY_COLUMNS} {_FROM} WHERE e.id = ANY(%s) AND e.deleted_at IS NULL"
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql + " ORDER BY e.id", (ids,))
        return await cur.fetchall()
