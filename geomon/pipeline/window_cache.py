"""The event hook's memory of each device's recent track, so a live batch reloads only itself.

Without it every committed batch reloaded, per device, all stored fixes from the lookback
before the batch (stop rules look back 2 x ``stop_minutes``): under a steady stream that is
the whole recent history again and again, and it was the event hook's largest cost in
``bench/ingest.py``. With it, a device whose batch follows on from what the cache holds
sends the store a :class:`~geomon.store.event_inputs.CachedTail`; the store checks it in the
same statement (previous stored fix = cached last fix, nothing stored after the batch, and
the writer's per-device counter of stored valid fixes grew by exactly the batch) and returns
only the batch's fixes. Late data, another process's writes or a cold cache fail that check
and get the full reload, so the windows - and therefore the events - are exactly those of a
full reload.

Entries keep only the attributes the rules read (the IO flags' ``attr`` keys); the cache is
bounded in rows and evicts the least recently used devices.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from geomon.store.event_inputs import CachedTail, Window

Row = tuple[Any, ...]  # (device, fix_time, lon, lat, speed_mps, attrs) as load_windows gives
_EVER = datetime(1, 1, 1, tzinfo=UTC)  # "complete since forever": nothing stored before


def _time(r: Row) -> datetime:
    return r[1]


@dataclass
class _Entry:
    since: datetime  # every valid stored fix from here to rows[-1] is in ``rows``
    rows: list[Row]
    seen: int  # the writer's inserts at or before rows[-1]


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

    def tails(self, devices: list[int]) -> dict[int, CachedTail]:
        return {
            d: CachedTail(e.since, e.rows[-1][1], e.seen)
            for d in devices
            if (e := self._entries.get(d)) is not None
        }

    def merge(
        self, windows: list[Window], lookback: timedelta, stop_speed: Callable[[int], float]
    ) -> list[Window]:
        """Complete held windows from the cache and remember every window's rows. Returns
        the windows with the rows the engine needs (those of a full reload, or - held - from
        the last fix before the batch that is not slower than the agency's ``stop_speed``:
        only stops look further back than one fix, and a stop is a run of slow fixes);
        windows without rows are dropped."""
        out = []
        for w in windows:
            e = self._entries.pop(w.device_id, None)
            if e is not None:
                self._rows -= len(e.rows)
            if w.held and e is not None and w.prev is not None:
                self.hits += 1
                fetched = w.rows  # the fixes after the held last one, up to w.t1
                held = e.rows
                floor = bisect_left(held, w.prev - lookback, key=_time)
                start = bisect_right(held, w.prev, key=_time) - 1  # prev itself
                slow = stop_speed(w.agency_id)
                while start > floor and not (held[start][4] is not None and held[start][4] >= slow):
                    start -= 1
                w.rows = held[start : bisect_right(held, w.t1, key=_time)] + fetched
                if fetched and w.seen is not None:
                    held += self._trimmed(fetched)
                    self._keep(w.device_id, _Entry(e.since, held, w.seen), lookback)
                elif not fetched:
                    self._keep(w.device_id, e, lookback)
            else:
                self.misses += 1
                if w.seen is not None and w.rows:
                    since = _EVER if w.prev is None else w.prev - lookback
                    self._keep(w.device_id, _Entry(since, self._trimmed(w.rows), w.seen), lookback)
            if w.rows:
                out.append(w)
        while self._rows > self.max_rows and self._entries:
            _, old = self._entries.popitem(last=False)
            self._rows -= len(old.rows)
        return out

    def _trimmed(self, rows: list[Row]) -> list[Row]:
        keys = self._keys
        return [r if not r[5] else (*r[:5], {k: r[5][k] for k in keys if k in r[5]}) for r in rows]

    def _keep(self, device: int, e: _Entry, lookback: timedelta) -> None:
        """Store ``e``, dropping fixes older than 1.5 lookbacks once it spans two: a batch
        may start a little before the held last fix and still needs its full lookback."""
        if e.rows[-1][1] - e.rows[0][1] > 2 * lookback:
            cut = e.rows[-1][1] - 1.5 * lookback
            e = _Entry(max(e.since, cut), e.rows[bisect_left(e.rows, cut, key=_time) :], e.seen)
        self._entries[device] = e
        self._rows += len(e.rows)
