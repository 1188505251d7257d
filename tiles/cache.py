"""A bounded in-process LRU of rendered tiles, keyed by everything that can change a tile.

The key holds the layer, z/x/y, the caller's visibility (role + agencies: row-level security
makes tiles differ per agency) and the layer's change counters (``layer_versions``), so a
changed table or another agency never hits a stale entry; stale entries simply age out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class TileCache:
    """LRU of tile bytes bounded by total size (and count)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_items: int = 20_000) -> None:
        self.max_bytes, self.max_items = max_bytes, max_items
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def get(self, key: tuple[object, ...]) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return data

    def put(self, key: tuple[object, ...], data: bytes) -> None:
        if len(data) > self.max_bytes // 8:
            return  # one huge tile must not flush everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes or len(self._items) > self.max_items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)
