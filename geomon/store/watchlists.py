"""Watch-list entries in SQL: add (one or a whole file in one statement), list, get, remove.

API callers pass their row-level-security connection (api.deps), so an agency lists its own
entries and those shared with it (scope ``watchlists``) and can remove only its own; the CLI
runs as the owner and names the agency. A removal is a soft delete (removed_at/by/why), so
the entry stays in history; removed entries are never matched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from geomon.errors import NotFound
from geomon.watchlists import Entry

# Arrays in, one INSERT: COPY FROM is refused under row-level security, and executemany
# over 100,000 rows costs a round trip each. ``near`` travels as one space-joined text.
_INSERT = """
INSERT INTO watchlist_entries (agency_id, list_name, plate, raw, is_pattern, like_pattern,
                               near, country, reason, priority, valid_from, valid_until,
                               added_by)
SELECT %(agency)s, u.list_name, u.plate, u.raw, u.like_pattern IS NOT NULL, u.like_pattern,
       string_to_array(u.near, ' ', ''), u.country, u.reason, u.priority,
       coalesce(u.valid_from, now()), u.valid_until, %(by)s
FROM unnest(%(list)s::text[], %(plate)s::text[], %(raw)s::text[], %(like)s::text[],
            %(near)s::text[], %(country)s::text[], %(reason)s::text[], %(priority)s::text[],
            %(from)s::timestamptz[], %(until)s::timestamptz[])
     AS u(list_name, plate, raw, like_pattern, near, country, reason, priority, valid_from,
          valid_until)
RETURNING id
"""

_FIELDS = """
w.id, a.code AS agency, w.list_name AS list, w.plate, w.raw, w.is_pattern, w.country,
w.reason, w.priority, w.valid_from, w.valid_until, w.added_by, w.added_at,
w.removed_at, w.removed_by, w.removed_why,
(w.removed_at IS NULL AND w.valid_from <= now()
 AND (w.valid_until IS NULL OR now() < w.valid_until)) AS active
"""

_LIST = f"""
SELECT {_FIELDS}
FROM watchlist_entries w JOIN agencies a ON a.id = w.agency_id
WHERE (%(before)s::bigint IS NULL OR w.id < %(before)s)
  AND (%(list)s::text IS NULL OR w.list_name = %(list)s)
  AND (%(plate)s::text IS NULL OR w.plate = %(plate)s)
  AND (%(agency)s::int IS NULL OR w.agency_id = %(agency)s)
  AND (%(removed)s OR w.removed_at IS NULL)
ORDER BY w.id DESC
LIMIT %(limit)s
"""

_GET = f"SELECT {_FIELDS} FROM watchlist_entries w JOIN agencies a ON a.id = w.agency_id "

_REMOVE = """
UPDATE watchlist_entries SET removed_at = now(), removed_by = %(by)s, removed_why = %(why)s
WHERE id = %(id)s AND removed_at IS NULL AND (%(agency)s::int IS NULL OR agency_id = %(agency)s)
RETURNING id
"""


def _columns(entries: list[Entry]) -> dict[str, list[Any]]:
    return {
        "list": [e.list_name for e in entries],
        "plate": [e.plate for e in entries],
        "raw": [e.raw for e in entries],
        "like": [e.like_pattern for e in entries],
        "near": [" ".join(e.near) for e in entries],
        "country": [e.country for e in entries],
        "reason": [e.reason for e in entries],
        "priority": [e.priority for e in entries],
        "from": [e.valid_from for e in entries],
        "until": [e.valid_until for e in entries],
    }


async def add_entries(
    conn: psycopg.AsyncConnection, entries: list[Entry], *, agency_id: int, added_by: str
) -> list[int]:
    """Insert every entry in one statement (all or none, in the caller's transaction)."""
    if not entries:
        return []
    cur = await conn.execute(_INSERT, {"agency": agency_id, "by": added_by, **_columns(entries)})
    return [int(r[0]) for r in await cur.fetchall()]


async def list_entries(
    conn: psycopg.AsyncConnection,
    *,
    limit: int = 100,
    before: int | None = None,
    list_name: str | None = None,
    plate: str | None = None,
    agency_id: int | None = None,
    include_removed: bool = False,
) -> list[dict[str, Any]]:
    """Entries the connection may see, newest first (keyset paging on ``before``)."""
    params = {
        "before": before,
        "list": list_name,
        "plate": plate,
        "agency": agency_id,
        "removed": include_removed,
        "limit": limit,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LIST, params)
        return list(await cur.fetchall())


async def get_entries(conn: psycopg.AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    """The visible entries among ``ids``, in id order."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_GET + "WHERE w.id = ANY(%s) ORDER BY w.id", (ids,))
        return list(await cur.fetchall())


async def get_entry(conn: psycopg.AsyncConnection, entry_id: int) -> dict[str, Any]:
    rows = await get_entries(conn, [entry_id])
    if not rows:
        raise NotFound(f"no watch-list entry {entry_id}")
    return rows[0]


async def remove_entry(
    conn: psycopg.AsyncConnection,
    entry_id: int,
    *,
    removed_by: str,
    why: str = "",
    agency_id: int | None = None,
) -> datetime:
    """Soft-delete an entry; NotFound when it is not there, already removed, or not the
    caller's to remove (row-level security: another agency's shared entry)."""
    cur = await conn.execute(
        _REMOVE, {"id": entry_id, "by": removed_by, "why": why, "agency": agency_id}
    )
    if await cur.fetchone() is None:
        raise NotFound(f"no watch-list entry {entry_id} that you may remove (or already removed)")
    row = await get_entry(conn, entry_id)
    removed_at: datetime = row["removed_at"]
    return removed_at
