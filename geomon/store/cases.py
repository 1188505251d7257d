"""Cases (migration 0019): vocabularies, idempotent upsert with history, soft delete, reads.

The API is async and the CLI sync: the SQL lives here once and each side has a thin function.
Every change writes one ``case_history`` row (append-only) in the same transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geomon.cases import Vocab
from geomon.errors import NotFound

FIELDS = (
    "category",
    "substance",
    "quantity_kg",
    "quantity_count",
    "unit",
    "occurred_at",
    "concealment",
    "transport_mode",
    "origin_country",
    "transit_countries",
    "destination_country",
    "seizing_unit",
    "note",
    "flags",
)
_ROW_JSON = """jsonb_build_object(
  'id', c.id, 'agency', a.code, 'source', c.source, 'external_id', c.external_id,
  'category', c.category, 'substance', c.substance, 'quantity_kg', c.quantity_kg,
  'quantity_count', c.quantity_count, 'unit', c.unit, 'occurred_at', c.occurred_at,
  'lon', ST_X(c.geom), 'lat', ST_Y(c.geom), 'concealment', c.concealment,
  'transport_mode', c.transport_mode, 'origin_country', c.origin_country,
  'transit_countries', c.transit_countries, 'destination_country', c.destination_country,
  'seizing_unit', c.seizing_unit, 'note', c.note, 'flags', c.flags,
  'updated_at', c.updated_at, 'updated_by', c.updated_by, 'deleted_at', c.deleted_at,
  'deleted_by', c.deleted_by, 'deleted_why', c.deleted_why)"""
_GET = f"SELECT {_ROW_JSON} FROM cases c JOIN agencies a ON a.id = c.agency_id WHERE c.id = %s"
_KEY = (
    f"SELECT c.id, {_ROW_JSON} FROM cases c JOIN agencies a ON a.id = c.agency_id "
    "WHERE c.agency_id = %s AND c.source = %s AND c.external_id = %s FOR UPDATE OF c"
)
_INSERT = """
INSERT INTO cases (agency_id, source, external_id, category, substance, quantity_kg,
  quantity_count, unit, occurred_at, geom, concealment, transport_mode, origin_country,
  transit_countries, destination_country, seizing_unit, note, flags, updated_by)
VALUES (%(agency_id)s, %(source)s, %(external_id)s, %(category)s, %(substance)s,
  %(quantity_kg)s, %(quantity_count)s, %(unit)s, %(occurred_at)s,
  ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(concealment)s, %(transport_mode)s,
  %(origin_country)s, %(transit_countries)s, %(destination_country)s, %(seizing_unit)s,
  %(note)s, %(flags)s, %(by)s)
RETURNING id
"""
_UPDATE = """
UPDATE cases SET category = %(category)s, substance = %(substance)s,
  quantity_kg = %(quantity_kg)s, quantity_count = %(quantity_count)s, unit = %(unit)s,
  occurred_at = %(occurred_at)s, geom = ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326),
  concealment = %(concealment)s, transport_mode = %(transport_mode)s,
  origin_country = %(origin_country)s, transit_countries = %(transit_countries)s,
  destination_country = %(destination_country)s, seizing_unit = %(seizing_unit)s,
  note = %(note)s, flags = %(flags)s, updated_at = now(), updated_by = %(by)s,
  deleted_at = NULL, deleted_by = NULL, deleted_why = NULL
WHERE id = %(id)s
"""
_HISTORY = (
    """
INSERT INTO case_history (case_id, agency_id, action, by, why, before, after)
SELECT c.id, c.agency_id, %s, %s, %s, %s::jsonb, """
    + _ROW_JSON
    + """
FROM cases c JOIN agencies a ON a.id = c.agency_id WHERE c.id = %s
"""
)
_DELETE = """
UPDATE cases SET deleted_at = now(), deleted_by = %s, deleted_why = %s
WHERE id = %s AND deleted_at IS NULL RETURNING id
"""
_LIST = f"""
SELECT {_ROW_JSON} FROM cases c JOIN agencies a ON a.id = c.agency_id
WHERE (%(deleted)s OR c.deleted_at IS NULL)
  AND (%(start)s::timestamptz IS NULL OR c.occurred_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR c.occurred_at < %(end)s)
  AND (%(category)s::text IS NULL OR c.category = %(category)s)
  AND c.id > %(after)s
ORDER BY c.id LIMIT %(limit)s
"""
_HISTORY_LIST = (
    "SELECT id, action, at, by, why, before, after FROM case_history WHERE case_id = %s ORDER BY id"
)
VOCAB_SQL = (
    "SELECT 'category', code, NULL::text, NULL::float8 FROM case_categories "
    "UNION ALL SELECT 'substance', code, measure, NULL FROM case_substances "
    "UNION ALL SELECT 'unit', code, kind, to_kg FROM case_units "
    "UNION ALL SELECT 'concealment', code, NULL, NULL FROM case_concealments "
    "UNION ALL SELECT 'transport', code, NULL, NULL FROM case_transport_modes"
)


def _vocab(rows: list[tuple[Any, ...]], aliases: dict[str, str] | None) -> Vocab:
    def pick(kind: str) -> list[tuple[Any, ...]]:
        return [r for r in rows if r[0] == kind]

    return Vocab(
        categories=frozenset(r[1] for r in pick("category")),
        substances={r[1]: r[2] for r in pick("substance")},
        units={r[1]: r[3] for r in pick("unit")},
        concealments=frozenset(r[1] for r in pick("concealment")),
        transport_modes=frozenset(r[1] for r in pick("transport")),
        aliases=aliases or {},
    )


def _changed(before: dict[str, Any], case: dict[str, Any]) -> bool:
    """Would writing ``case`` change the stored row ``before`` (JSON from _ROW_JSON)?"""
    if before.get("deleted_at") is not None:
        return True
    probe = json.loads(json.dumps({k: case[k] for k in (*FIELDS, "lon", "lat")}, default=str))
    for k, v in probe.items():
        old = before.get(k)
        if k == "occurred_at":
            if datetime.fromisoformat(str(old)) != case["occurred_at"]:
                return True
        elif isinstance(v, float) or isinstance(old, float):
            if old is None or v is None or abs(float(old) - float(v)) > 1e-9:
                return True
        elif old != v:
            return True
    return False


async def vocab(conn: psycopg.AsyncConnection, aliases: dict[str, str] | None = None) -> Vocab:
    cur = await conn.execute(VOCAB_SQL)
    return _vocab(await cur.fetchall(), aliases)


def vocab_sync(conn: psycopg.Connection, aliases: dict[str, str] | None = None) -> Vocab:
    return _vocab(conn.execute(VOCAB_SQL).fetchall(), aliases)


def _params(case: dict[str, Any], agency_id: int, source: str, by: str) -> dict[str, Any]:
    return {**case, "agency_id": agency_id, "source": source, "by": by}


async def upsert_case(
    conn: psycopg.AsyncConnection, case: dict[str, Any], *, agency_id: int, source: str, by: str
) -> tuple[int, str]:
    """Create or update by (agency, source, external_id); returns (id, outcome)."""
    p = _params(case, agency_id, source, by)
    cur = await conn.execute(_KEY, (agency_id, source, case["external_id"]))
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(_INSERT, p)
        new = await cur.fetchone()
        assert new is not None
        await conn.execute(_HISTORY, ("create", by, "", None, new[0]))
        return int(new[0]), "created"
    case_id, before = int(row[0]), row[1]
    if not _changed(before, case):
        return case_id, "unchanged"
    await conn.execute(_UPDATE, {**p, "id": case_id})
    await conn.execute(_HISTORY, ("update", by, "", Jsonb(before), case_id))
    return case_id, "updated"


def upsert_case_sync(
    conn: psycopg.Connection, case: dict[str, Any], *, agency_id: int, source: str, by: str
) -> tuple[int, str]:
    p = _params(case, agency_id, source, by)
    row = conn.execute(_KEY, (agency_id, source, case["external_id"])).fetchone()
    if row is None:
        new = conn.execute(_INSERT, p).fetchone()
        assert new is not None
        conn.execute(_HISTORY, ("create", by, "", None, new[0]))
        return int(new[0]), "created"
    case_id, before = int(row[0]), row[1]
    if not _changed(before, case):
        return case_id, "unchanged"
    conn.execute(_UPDATE, {**p, "id": case_id})
    conn.execute(_HISTORY, ("update", by, "", Jsonb(before), case_id))
    return case_id, "updated"


async def get_case(conn: psycopg.AsyncConnection, case_id: int) -> dict[str, Any]:
    cur = await conn.execute(_GET, (case_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return dict(row[0])


async def delete_case(conn: psycopg.AsyncConnection, case_id: int, *, by: str, why: str) -> None:
    """Soft delete (who/when/why) with a history row; NotFound if not visible or already gone."""
    before = await get_case(conn, case_id)
    cur = await conn.execute(_DELETE, (by, why, case_id))
    if await cur.fetchone() is None:
        raise NotFound(f"no case {case_id} to delete")
    await conn.execute(_HISTORY, ("delete", by, why, Jsonb(before), case_id))


async def list_cases(
    conn: psycopg.AsyncConnection,
    *,
    start: Any = None,
    end: Any = None,
    category: str | None = None,
    after: int = 0,
    limit: int = 100,
    deleted: bool = False,
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        _LIST,
        {
            "start": start,
            "end": end,
            "category": category,
            "after": after,
            "limit": limit,
            "deleted": deleted,
        },
    )
    return [dict(r[0]) for r in await cur.fetchall()]


async def case_history(conn: psycopg.AsyncConnection, case_id: int) -> list[dict[str, Any]]:
    await get_case(conn, case_id)
    cur = await conn.execute(_HISTORY_LIST, (case_id,))
    cols = ("id", "action", "at", "by", "why", "before", "after")
    return [dict(zip(cols, r, strict=True)) for r in await cur.fetchall()]


_EXPORT = """
SELECT c.id, c.source, c.external_id, c.category, c.substance,
       COALESCE(c.quantity_kg / u.to_kg, c.quantity_count::float8), c.quantity_kg,
       c.quantity_count, c.unit, c.occurred_at, ST_X(c.geom), ST_Y(c.geom), c.concealment,
       c.transport_mode, c.origin_country, array_to_string(c.transit_countries, ';'),
       c.destination_country, c.seizing_unit, c.note
FROM cases c LEFT JOIN case_units u ON u.code = c.unit WHERE c.deleted_at IS NULL
  AND (%(agency)s::int IS NULL OR c.agency_id = %(agency)s)
  AND (%(since)s::timestamptz IS NULL OR c.occurred_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR c.occurred_at < %(until)s)
ORDER BY c.id
"""
EXPORT_COLUMNS = (
    "id", "source", "external_id", "category", "substance", "quantity", "quantity_kg",
    "quantity_count",
    "unit", "occurred_at", "lon", "lat", "concealment", "transport_mode", "origin_country",
    "transit_countries", "destination_country", "seizing_unit", "note",
)  # fmt: skip


def export_rows(
    conn: psycopg.Connection,
    agency_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[Any, ...]]:
    """Live (not deleted) cases in the export column order (occurred in ``[since, until)``
    when given), for geomon.exchange.files and exchange packages."""
    params = {"agency": agency_id, "since": since, "until": until}
    return conn.execute(_EXPORT, params).fetchall()
