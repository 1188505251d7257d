"""Vector tiles: validate the tile address, consult the cache, render in PostGIS on a miss.

The ETag is derived from the cache key (layer, z/x/y, visibility, change counters) without
rendering, so a revalidation (If-None-Match) costs one counter lookup and no ST_AsMVT.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from geomon.errors import InvalidRequest, NotFound
from geomon.store import tiles as store
from tiles.cache import TileCache

MVT_MEDIA = "application/vnd.mapbox-vector-tile"

# (layer id, z, x, y, visibility, counters version, start of the layer's time window)
TileKey = tuple[str, int, int, int, str, str, datetime | None]


@dataclass(frozen=True)
class Tile:
    data: bytes
    etag: str
    cached: bool


def check_address(layer: store.TileLayer, z: int, x: int, y: int) -> None:
    """404 outside the layer's zoom range; 400 when x/y do not exist at zoom z."""
    if z < layer.minzoom or z > layer.maxzoom:
        raise NotFound(
            f"layer {layer.id!r} has tiles for zooms {layer.minzoom}..{layer.maxzoom} only, not {z}"
        )
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidRequest(f"tile x and y must be within 0..{n - 1} at zoom {z}")


def etag_for(key: tuple[object, ...]) -> str:
    return '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'


def key_for(
    layer: store.TileLayer, z: int, x: int, y: int, visibility: str, version: str
) -> TileKey:
    """The cache key for the counters ``version``, read FIRST in the rendering transaction: a
    tile rendered after them is at least that fresh."""
    return (layer.id, z, x, y, visibility, version, layer.since(datetime.now(UTC)))


async def vector_tile(
    conn: psycopg.AsyncConnection, cache: TileCache, layer: store.TileLayer, key: TileKey
) -> Tile:
    _, z, x, y, _, _, since = key
    data = cache.get(key)
    if data is not None:
        return Tile(data, etag_for(key), True)
    data = await store.render_tile(conn, layer, z, x, y, since)
    cache.put(key, data)
    return Tile(data, etag_for(key), False)
