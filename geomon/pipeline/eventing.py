"""Events from committed fixes: the batch writer's ``on_committed`` hook, and the periodic
silent-team check.

After a batch commits (devices already acknowledged), the hook reloads each affected device's
track window from the store (the new fixes plus their stored neighbours; a device whose batch
follows on from what :mod:`geomon.pipeline.window_cache` holds reloads only the batch, once
the store has confirmed the cached part), runs the pure engine, replaces the window's events
and inserts the new ones, all in one transaction of its own. Late and resent data therefore
produce exactly the events a live stream would have.
Hooks run one at a time, in commit order; an error is logged and never reaches ingest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads

from geomon.alerts import EventDraft, Track, evaluate
from geomon.alerts.device_state import silent_events
from geomon.pipeline.window_cache import WindowCache
from geomon.store import events as event_store
from geomon.store.event_inputs import (
    EngineContext,
    Window,
    context_version,
    load_context,
    load_windows,
    silent_inputs,
)
from geomon.store.positions import row_key

log = logging.getLogger(__name__)

# Runs with more rows than this compute in a worker thread, so a large late-data reload does
# not hold the ingest loop; smaller ones inline (a thread's GIL handoffs with the loop cost
# more than they save; docs/performance.md, "Measured reasons").
_INLINE_ROWS = 20_000


def merge_spans(
    into: dict[int, tuple[datetime, datetime]], spans: dict[int, tuple[datetime, datetime]]
) -> None:
    """Widen ``into`` to cover ``spans`` (the union of (first, last) per device)."""
    for dev, (lo, hi) in spans.items():
        old = into.get(dev)
        into[dev] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))


def spans_of(rows: Iterable[bytes]) -> dict[int, tuple[datetime, datetime]]:
    """(first, last) fix time per device of staged rows (:func:`stage_row`)."""
    spans: dict[int, tuple[datetime, datetime]] = {}
    for row in rows:
        dev, t = row_key(row)
        lo, hi = spans.get(dev, (t, t))
        spans[dev] = (min(lo, t), max(hi, t))
    return spans


def context_start(w: Window, stop_speed_mps: float) -> int:
    """Index of the first row the engine needs: the last fix at or before ``prev`` that is
    not slow. Only stop rules look further back than the previous fix, and a stop is a run of
    slow fixes, so no run that matters starts before it (moving teams: one context fix, not
    the whole lookback)."""
    if w.prev is None:
        return 0
    first_new = bisect_right(w.rows, w.prev, key=lambda r: r[1])
    for i in range(first_new - 1, -1, -1):
        v = w.rows[i][4]
        if v is not None and v >= stop_speed_mps:  # NaN and None count as slow
            return i
    return 0


def compute(windows: list[Window], ctx: EngineContext) -> tuple[list[EventDraft], frozenset[str]]:
    """Pure part: the drafts of every window (and their keys, which must survive). The
    windows of one agency go to the engine as one multi-device track (its arrays keep devices
    apart): one call per agency, not per device, under load."""
    by_agency: dict[int, tuple[list[tuple[Any, ...]], list[bool]]] = {}
    for w in windows:
        rules = ctx.rules_of(w.agency_id)
        rows, emit = by_agency.setdefault(w.agency_id, ([], []))
        part = w.rows[context_start(w, float(rules["stop_speed_mps"])) :]
        rows += part
        emit += [w.prev is None or r[1] > w.prev for r in part]
    drafts: list[EventDraft] = []
    for agency, (rows, emit) in by_agency.items():
        drafts += evaluate(
            Track.from_rows(rows, emit=emit),
            ctx.zones_of(agency),
            ctx.rules_of(agency),
            ctx.borders_of(agency),
        )
    return drafts, frozenset(d.key for d in drafts)


class EventHook:
    """``await hook(spans)`` after a commit; holds its own connection and a cached context."""

    def __init__(
        self,
        url: str,
        *,
        context_ttl_s: float = 30.0,
        gather_s: float = 0.3,
        cache_rows: int = 200_000,
    ) -> None:
        self._url = url
        self._cache = WindowCache(cache_rows)  # 0 rows: every batch reloads its windows
        # runs start at most this often: under load the batches of that moment join one run,
        # which pays its per-device queries once (a quiet stream runs at once). Events follow
        # their fixes within about gather_s + one run.
        self._gather_s = gather_s
        self._last_start = 0.0
        self._ttl = context_ttl_s
        self._conn: psycopg.AsyncConnection | None = None
        self._ctx: EngineContext | None = None
        self._ctx_at = 0.0
        self._ctx_version: tuple[int, ...] = ()
        self._lock = asyncio.Lock()
        self._pending: (
            tuple[dict[int, tuple[datetime, datetime]], asyncio.Future[list[int]]] | None
        ) = None  # the spans of the run waiting for the lock, and its result
        self.last_event_ids: list[int] = []

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(  # JIT: see store.positions
                self._url, connect_timeout=5, application_name="geomon-events", options="-c jit=off"
            )
            set_json_loads(orjson.loads, self._conn)  # the fixes' attrs: 3x faster than json
        return self._conn

    async def _context(self, conn: psycopg.AsyncConnection) -> EngineContext:
        """The cached context, rebuilt when zones, borders or agencies changed (their
        counters, one row read a run) or after the TTL (alert rules have no counter)."""
        version = await context_version(conn)
        stale = version != self._ctx_version or time.monotonic() - self._ctx_at > self._ttl
        if self._ctx is None or stale:
            self._ctx = await load_context(conn)
            self._ctx_at = time.monotonic()
            self._ctx_version = version
        return self._ctx

    def invalidate(self) -> None:
        """Reload zones and rules on the next batch (after zones changed)."""
        self._ctx = None

    async def __call__(self, spans: dict[int, tuple[datetime, datetime]]) -> list[int]:
        """Hooks that queue up behind a running one are merged into one run (the union of
        their spans; windows are recomputed whole, so the events are the same) - under load
        one transaction per few batches instead of one per batch. Returns the new event ids
        of the run that covered ``spans``."""
        if not spans:
            return []
        if self._pending is not None:  # a run is already waiting for the lock: join it
            merged, result = self._pending
            merge_spans(merged, spans)
            return await asyncio.shield(result)
        merged, result = dict(spans), asyncio.get_running_loop().create_future()
        self._pending = (merged, result)
        try:
            async with self._lock:
                # runs start at most every gather_s: the batches of that moment join this one
                delay = self._last_start + self._gather_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._last_start = time.monotonic()
                self._pending = None
                new = await self._guarded(merged)
                result.set_result(new)
        finally:
            if self._pending is not None and self._pending[1] is result:
                self._pending = None  # cancelled while waiting: later hooks start afresh
            if not result.done():
                result.cancel()  # cancelled: the joiners are cancelled with it
        return new

    async def _guarded(self, spans: dict[int, tuple[datetime, datetime]]) -> list[int]:
        try:
            return await self._run(spans)
        except Exception:
            log.exception("event computation failed for %d devices", len(spans))
            if self._conn is not None:
                await self._conn.close()
            self._conn = None
            self._cache.clear()  # start afresh after any error
            return []

    async def _run(self, spans: dict[int, tuple[datetime, datetime]]) -> list[int]:
        conn = await self._connection()
        async with conn.transaction():
            ctx = await self._context(conn)
            lookback = ctx.lookback()
            keys = ctx.attr_keys()
            self._cache.use_keys(keys)
            windows = self._cache.merge(
                await load_windows(conn, spans, lookback, self._cache.tails(list(spans)), keys),
                lookback,
                lambda agency: float(ctx.rules_of(agency)["stop_speed_mps"]),
            )
            if sum(len(w.rows) for w in windows) > _INLINE_ROWS:
                drafts, keys = await asyncio.to_thread(compute, windows, ctx)
            else:  # a thread costs more than it saves (GIL handoffs with the ingest loop)
                drafts, keys = compute(windows, ctx)
            changed = await event_store.supersede(
                conn, [(w.device_id, w.t0, w.t1) for w in windows], keys
            )
            new = await event_store.insert_events(
                conn, drafts, {w.device_id: w.agency_id for w in windows}
            )
            changed += await event_store.resolve_open(
                conn, [f"silent:{d}" for d in spans], by="geomon", note="device reported again"
            )
        if new or changed:
            log.info(
                "events: %d new, %d changed for %d devices", len(new), len(changed), len(spans)
            )
        self.last_event_ids = new
        return new

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


async def check_silent(
    conn: psycopg.AsyncConnection, ctx: EngineContext, now: datetime | None = None
) -> list[int]:
    """Flag teams on duty that have been silent too long (one open event per silence)."""
    now = now or datetime.now(UTC)
    rows = await silent_inputs(conn, now)
    last = {r[0]: (r[2], r[3], r[4]) for r in rows}
    rules_of = {r[0]: ctx.rules_of(r[1]) for r in rows}
    on_duty = [r[0] for r in rows if r[5] or not (r[6] or rules_of[r[0]]["silent_requires_duty"])]
    drafts = silent_events(now, last, on_duty, rules_of)
    return await event_store.insert_events(conn, drafts, {r[0]: r[1] for r in rows})


async def run_silent_checks(url: str, *, every_s: float = 30.0) -> None:
    """Forever: the silent-team check every ``every_s`` seconds (cancel to stop)."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                url, connect_timeout=5, application_name="geomon-silent"
            ) as conn:
                while True:
                    async with conn.transaction():
                        ids = await check_silent(conn, await load_context(conn))
                    if ids:
                        log.info("silent teams flagged: %d events", len(ids))
                    await asyncio.sleep(every_s)
        except (psycopg.Error, OSError) as exc:
            log.warning("silent check: database unavailable (%s); retrying", exc)
            await asyncio.sleep(every_s)
