"""Cached OGC items pages, invalidated like vector tiles (docs/api.md, "Tile cache").

A page (features, keys, has-more, numberMatched) is kept under (collection, the validated
query, the caller's visibility, the change counters of the collection's tables read FIRST in
the same transaction as the page would be). A write to any of those tables bumps its counter
in the writer's transaction, so a reader that can see the new rows also sees the new counter
and misses. QGIS and the map ask for the same first pages again and again; a page with a bbox
nobody asked for before just misses. The head (timeStamp, links) is built per request.
"""

from __future__ import annotations

import psycopg
from fastapi import Request

from api.state import app_state
from geomon.store import features as store
from tiles.cache import TileCache


def page_key(
    spec: store.CollectionSpec, q: store.ItemQuery, visibility: str, version: str
) -> tuple[object, ...] | None:
    """The cache key of a page; None (never cached) when the collection names no tables."""
    return None if not spec.tables or not version else ("ogc", spec.id, q, visibility, version)


async def cached_page(
    request: Request,
    conn: psycopg.AsyncConnection,
    spec: store.CollectionSpec,
    q: store.ItemQuery,
    key: tuple[object, ...] | None,
) -> store.Page:
    cache: TileCache = app_state(request).ogc_page_cache
    page = cache.get(key) if key is not None else None
    if page is None:
        page = await store.read_items(conn, spec, q, count=spec.id != "tracks")
        if key is not None:
            cache.put(key, page, sum(len(f) for f in page.features) + 200)
    return page
