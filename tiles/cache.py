"""A bounded in-process LRU of rendered tiles, keyed by everything that can change a tile.

The key holds the layer, z/x/y, the caller's visibility (role + agencies: row-level security
makes tiles differ per agency) and the layer's change counters (``layer_versions``), so a
changed table or another agency never hits a stale entry; stale entries simply age out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class TileCache:
    """LRU of tile bytes (or OGC pages) bounded by total size (and count)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_items: int = 20_000) -> None:
        self.max_bytes, self.max_items = max_bytes, max_items
        self._items: OrderedDict[tuple[object, ...], tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def get(self, key: tuple[object, ...]) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return item[0]

    def put(self, key: tuple[object, ...], data: Any, size: int | None = None) -> None:
        """Keep ``data`` (bytes, or anything else with its ``size`` in bytes given)."""
        size = len(data) if size is None else size
        if size > self.max_bytes // 8:
            return  # one huge entry must not flush everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (data, size)
            self._size += size
            while self._size > self.max_bytes or len(self._items) > self.max_items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def __len__(self) -> int:
        return len(self._items)
