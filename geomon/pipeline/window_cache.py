"""The event hook's memory of each device's recent track, so a live batch reloads only itself.

Without it every committed batch reloaded, per device, all stored fixes from the lookback
before the batch (stop rules look back 2 x ``stop_minutes``): under a steady stream that is
the whole recent history again and again, and it was the event hook's largest cost in
``bench/ingest.py``. With it, a device whose batch follows on from what the cache holds
sends the store a :class:`~geomon.store.event_inputs.CachedTail`; the store checks it in the
same statement (previous stored fix = cached last fix, same count in the lookback, nothing
stored after the batch) and returns only the batch's fixes. Late data, another process's
writes, retention deletes or a cold cache fail that check and get the full reload, so the
windows - and therefore the events - are exactly those of a full reload.

Entries keep only the attributes the rules read (the IO flags' ``attr`` keys); the cache is
bounded in rows and evicts the least recently used devices.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from geomon.store.event_inputs import CachedTail, Window

Row = tuple[Any, ...]  # (device, fix_time, lon, lat, speed_mps, attrs) as load_windows gives


@dataclass
class _Entry:
    complete_from: datetime | None  # every valid stored fix from here on is in ``rows``
    rows: list[Row]

    @property
    def last(self) -> datetime:
        return self.rows[-1][1]


class WindowCache:
    """Recent valid fixes per device; ``tails`` to ask the store, ``merge`` its answer."""

    def __init__(self, max_rows: int = 200_000) -> None:
        self.max_rows = max_rows
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._rows = 0
        self._keys: frozenset[str] = frozenset()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return self._rows

    def use_keys(self, keys: frozenset[str]) -> None:
        """The attribute keys the rules read; entries trimmed to other keys are dropped."""
        if keys != self._keys:
            self.clear()
            self._keys = keys

    def clear(self) -> None:
        self._entries.clear()
        self._rows = 0

    def tails(self, devices: list[int], lookback: timedelta) -> dict[int, CachedTail]:
        out: dict[int, CachedTail] = {}
        for dev in devices:
            e = self._entries.get(dev)
            if e is None or not e.rows:
                continue
            since = e.last - lookback
            if e.complete_from is not None and e.complete_from > since:
                continue  # the lookback grew (rules changed) beyond what the entry holds
            first = bisect_left(e.rows, since, key=lambda r: r[1])
            out[dev] = CachedTail(e.last, len(e.rows) - first)
        return out

    def merge(self, windows: list[Window], lookback: timedelta) -> list[Window]:
        """Complete tail-only windows from the cache and remember every window's rows.
        Returns the windows with full rows (the same rows a full reload would give)."""
        for w in windows:
            e = self._entries.pop(w.device_id, None)
            if e is not None:
                self._rows -= len(e.rows)
            if w.tail_only and e is not None:
                self.hits += 1
                since = e.last - lookback
                w.rows = e.rows[bisect_left(e.rows, since, key=lambda r: r[1]):] + w.rows
                complete_from = e.complete_from
            else:
                self.misses += 1
                # a full reload starts at prev - lookback (or holds everything before lo)
                complete_from = None if w.prev is None else w.prev - lookback
            self._remember(w, complete_from, lookback)
        while self._rows > self.max_rows and self._entries:
            _, old = self._entries.popitem(last=False)
            self._rows -= len(old.rows)
        return windows

    def _remember(self, w: Window, complete_from: datetime | None,
                  lookback: timedelta) -> None:
        if not w.rows:
            return
        # the window ends at the next stored fix (or the batch's last): everything stored up
        # to its last row is in it, so the entry is complete from complete_from to there
        last = w.rows[-1][1]
        keep_from = last - lookback
        first = bisect_left(w.rows, keep_from, key=lambda r: r[1])
        keys = self._keys
        rows = [r if not r[5] else (*r[:5], {k: r[5][k] for k in keys if k in r[5]})
                for r in w.rows[first:]]
        if complete_from is None or complete_from < keep_from:
            complete_from = keep_from
        self._entries[w.device_id] = _Entry(complete_from, rows)
        self._rows += len(rows)
