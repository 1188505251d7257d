"""Whole-collection reads for file downloads (OGC ``f=csv|gpkg|kml|fgb``) and queryables.

The same source, filters and row-level security as :func:`geomon.store.features.read_items`,
but rows instead of GeoJSON text: the key columns, the properties, the geometry as WKB, in key
order, for a server-side cursor that the writer drains in batches (no cap, bounded memory).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from geomon.store import features as fs

# PostgreSQL type → JSON Schema type of a queryable; other types are not filterable by equality
_QUERYABLE_TYPES = {
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "text": "string",
    "varchar": "string",
    "bpchar": "string",
    "bool": "boolean",
}
_described: dict[str, list[tuple[str, str]]] = {}


def columns(spec: fs.CollectionSpec) -> tuple[str, ...]:
    """Key columns the properties lack, then the properties: the fields of a download."""
    return tuple(k for k in spec.key if k not in spec.props) + spec.props


def export_sql(
    spec: fs.CollectionSpec, q: fs.ItemQuery, limit: int | None
) -> tuple[str, dict[str, Any]]:
    """SELECT of the fields and ``ST_AsBinary(geom)`` (last) for ``q``'s filters and cursor."""
    params: dict[str, Any] = {}
    conds = fs._where(spec, q, params)
    if q.after is not None:
        conds.append(fs._keyset(spec, q.after, ">", params))
    if q.before is not None:
        conds.append(fs._keyset(spec, q.before, "<", params))
    src = fs._source(spec, q, params)
    fields = ", ".join(f"s.{c}" for c in columns(spec))
    order = ", ".join(f"s.{k}" for k in spec.key)
    sql = (
        f"SELECT {fields}, ST_AsBinary(s.geom) FROM ({src}) s "
        f"WHERE {' AND '.join(conds) or 'TRUE'} ORDER BY {order}"
    )
    if limit is not None:
        params["lim"] = limit
        sql += " LIMIT %(lim)s"
    return sql, params


@contextlib.asynccontextmanager
async def export_cursor(
    conn: psycopg.AsyncConnection, spec: fs.CollectionSpec, q: fs.ItemQuery, limit: int | None
) -> AsyncIterator[psycopg.AsyncServerCursor[Any]]:
    """A server-side (binary) cursor over :func:`export_sql`'s rows on ``conn``: the caller
    fetches batches, so a download of any size holds one batch."""
    sql, params = export_sql(spec, q, limit)
    async with conn.cursor(name="ogc_download", binary=True) as cur:
        await cur.execute(sql, params)
        yield cur


async def describe(conn: psycopg.AsyncConnection, spec: fs.CollectionSpec) -> list[tuple[str, str]]:
    """(field, PostgreSQL type name) of a download's fields, from the source itself (cached:
    every run's or set's collection has the same shape as its kind's)."""
    shape = spec.source.split(" WHERE ")[0]
    if shape not in _described:
        src = fs._source(spec, fs.ItemQuery(), {})
        cur = await conn.execute(
            f"SELECT {', '.join(f's.{c}' for c in columns(spec))} FROM ({src}) s LIMIT 0"
        )
        types = conn.adapters.types
        out = []
        for d in cur.description or ():
            info = types.get(d.type_code)
            out.append((d.name, info.name if info is not None else "unknown"))
        _described[shape] = out
    return _described[shape]


async def queryables(conn: psycopg.AsyncConnection, spec: fs.CollectionSpec) -> dict[str, str]:
    """Properties filterable by equality (``?name=value``): name → JSON Schema type."""
    return {
        name: _QUERYABLE_TYPES[t]
        for name, t in await describe(conn, spec)
        if name in spec.props and t in _QUERYABLE_TYPES
    }
