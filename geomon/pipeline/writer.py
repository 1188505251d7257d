"""The batch writer: collects positions (and sensor observations) from many connections, runs
the stages, writes one COPY per batch in one transaction, and only then resolves each
submitter's future — the adapter acknowledges its device after that, never before.

Database outage: a batch retries for ``spool_after_ms``, then goes to the fsynced on-disk
spool (:mod:`geomon.pipeline.spool`) and its submitters are resolved after the fsync. While
the database stays down, batches are spooled at once and the database is probed every
``db_probe_ms``; when it answers, the spool is replayed (idempotent: primary keys absorb
what had in fact committed) and deleted.

A batch that fails on its data (not the connection) is retried job by job, then row by row;
the offending rows go to ``ingest_rejects`` with the error and the rest is written.
Queues are bounded: :meth:`submit` raises :class:`Overloaded` when full, so HTTP adapters
answer 503 and TCP adapters pause reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from geomon.errors import DatabaseUnavailable, Overloaded
from geomon.model import Observation, Position
from geomon.pipeline.metrics import COUNTERS, Counters
from geomon.pipeline.rows import prepare_rows, stage_positions
from geomon.pipeline.spool import Spool, SpooledBatch
from geomon.pipeline.stages import STAGES, Stage, StageContext
from geomon.settings import IngestSettings
from geomon.store.devices import resolve_device_ids
from geomon.store.observations import write_observations
from geomon.store.positions import write_positions
from geomon.store.rejects import insert_reject

log = logging.getLogger(__name__)

OnCommitted = Callable[[dict[int, tuple[datetime, datetime]]], Coroutine[Any, Any, Any]]
"""Called after each COMMIT with (first, last) fix time per device of the written rows."""

_CONNECTION_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    OSError,
    DatabaseUnavailable,
)

_ROW_ERRORS = (
    psycopg.DataError,  # jsonb/text/numeric the server refuses
    psycopg.IntegrityError,
    psycopg.InternalError,  # PostGIS: a geometry it cannot parse
    psycopg.ProgrammingError,
    psycopg.NotSupportedError,
    ValueError,  # staging: a value the columns cannot hold
    TypeError,
    OverflowError,
    struct.error,
)
"""What one row can cause; anything else is a fault of ours (logged, the task restarts)."""

RESTART_DELAY_S = 0.5


@dataclass
class _Job:
    positions: list[Position]
    kind: str
    received_at: datetime
    observations: list[Observation] = field(default_factory=list)
    done: asyncio.Future[int] | None = None
    staged: bool = False  # positions already passed the stages (_stage; spooled jobs too)

    @property
    def size(self) -> int:
        return len(self.positions) + len(self.observations)

    def resolve(self, result: int | BaseException) -> None:
        if self.done is None or self.done.done():
            return
        if isinstance(result, BaseException):
            self.done.set_exception(result)
        else:
            self.done.set_result(result)


class BatchWriter:
    """One writer task per process; ``await submit(...)`` returns after COMMIT (or fsync)."""

    def __init__(
        self,
        url: str,
        settings: IngestSettings,
        *,
        counters: Counters = COUNTERS,
        stages: tuple[Stage, ...] = STAGES,
        on_committed: OnCommitted | None = None,
    ) -> None:
        self._url = url
        self._on_committed = on_committed  # events (geomon.pipeline.eventing), after COMMIT
        self._hook_tasks: set[asyncio.Task[Any]] = set()
        self._settings = settings
        self._counters = counters
        self._stages = stages
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._queued_rows = 0
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._ctx = StageContext(now=datetime.now(UTC))
        self.spool = Spool(settings.spool_dir)
        self._spooling = False  # the database was found down; spool without retrying
        self._next_probe = 0.0
        self._spool_dirty = False
        self._ids: dict[str, int] = {}
        self._ids_expire = 0.0
        self.healthy = True  # False from a fault that ended a turn until a turn completes

    async def start(self) -> None:
        self._spool_dirty = bool(self.spool.segments())
        self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.spool.seal()
        await self._drop_connection()

    async def submit(self, positions: list[Position], *, kind: str = "tracker") -> int:
        """Queue fixes of devices of ``kind``; returns, once they are committed (or spooled),
        how many passed the stages (stored now or before; all of them when spooled)."""
        return await self._enqueue(_Job(positions, kind, datetime.now(UTC)))

    async def submit_observations(self, observations: list[Observation]) -> int:
        """Queue sensor observations; returns after commit (or spool) how many were taken."""
        return await self._enqueue(_Job([], "sensor", datetime.now(UTC), observations))

    async def _enqueue(self, job: _Job) -> int:
        if self._queued_rows + job.size > self._settings.queue_max_rows:
            self._counters.inc("overloaded")
            raise Overloaded("ingest queue is full", retry_after_s=1.0)
        job.done = asyncio.get_running_loop().create_future()
        self._queued_rows += job.size
        self._queue.put_nowait(job)  # unbounded queue; the row count above is the bound
        # not shielded: a cancelled submitter cancels its future, which resolve() then skips
        return await job.done

    async def _run(self) -> None:
        while True:
            jobs: list[_Job] = []
            try:
                jobs = await self._collect()
                if jobs:
                    await self._handle(jobs)
                if self._spool_dirty and (not self._spooling or self._probe_due()):
                    await self._replay_one_segment()
            except asyncio.CancelledError:
                raise
            except Exception:
                await self._crashed(jobs)
                continue
            self.healthy = True

    async def _crashed(self, jobs: list[_Job]) -> None:
        """An exception escaped a turn: its jobs are refused (never acked, the devices resend),
        the connection is dropped, and the writer reports unhealthy until a turn completes."""
        log.exception("batch writer fault; refusing %d jobs and restarting", len(jobs))
        self.healthy = False
        self._counters.inc("writer_restarts")
        for job in jobs:
            job.resolve(DatabaseUnavailable("ingest writer fault; resend"))
        with contextlib.suppress(Exception):
            await self._drop_connection()
        await asyncio.sleep(RESTART_DELAY_S)

    async def _collect(self) -> list[_Job]:
        first_wait = self._settings.db_probe_ms / 1000 if self._spool_dirty else None
        try:
            jobs = [await asyncio.wait_for(self._queue.get(), first_wait)]
        except TimeoutError:
            return []
        rows = jobs[0].size
        deadline = time.monotonic() + self._settings.batch_max_ms / 1000
        idle = self._settings.batch_idle_ms / 1000 or float("inf")
        while rows < self._settings.batch_max_rows:
            if not self._queue.empty():
                job = self._queue.get_nowait()
            else:
                timeout = min(deadline - time.monotonic(), idle)
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    break
            jobs.append(job)
            rows += job.size
        self._queued_rows -= rows
        return jobs

    def _probe_due(self) -> bool:
        now = time.monotonic()
        if now >= self._next_probe:
            self._next_probe = now + self._settings.db_probe_ms / 1000
            return True
        return False

    def _stage(self, jobs: list[_Job]) -> None:
        """Run the stages once per job, outside any transaction: retries, the spool and row
        isolation write the staged fixes, so a drop is counted once, not once per attempt."""
        for job in jobs:
            if not job.staged:
                job.positions = stage_positions(
                    job.positions, self._ctx, self._stages, self._counters
                )
                job.staged = True

    async def _handle(self, jobs: list[_Job]) -> None:
        self._stage(jobs)
        if self._spooling and not self._probe_due():
            await self._spool_jobs(jobs)
            return
        deadline = time.monotonic() + self._settings.spool_after_ms / 1000
        delay = 0.1
        while True:
            try:
                results = await self._write(jobs)
            except _CONNECTION_ERRORS as exc:
                self._counters.inc("db_unavailable")
                await self._drop_connection()
                if self._spooling or time.monotonic() + delay > deadline:
                    log.warning("database unavailable (%s): spooling %d jobs", exc, len(jobs))
                    self._spooling = True
                    self._next_probe = time.monotonic() + self._settings.db_probe_ms / 1000
                    await self._spool_jobs(jobs)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            except _ROW_ERRORS as exc:  # data error: isolate the bad rows
                log.warning("batch failed on its data (%s); isolating", exc)
                await self._drop_connection()
                await self._isolate(jobs)
                return
            if self._spooling:
                log.info("database is back; replaying the spool")
            self._spooling = False
            for job, result in zip(jobs, results, strict=True):
                job.resolve(result)
            return

    async def _spool_jobs(self, jobs: list[_Job]) -> None:
        batches = [SpooledBatch(j.kind, j.received_at, j.positions, j.observations) for j in jobs]
        try:
            await asyncio.to_thread(self.spool.append, batches)
        except OSError as exc:  # cannot make it durable: the devices must not be acked
            log.error("spool append failed: %s", exc)
            for job in jobs:
                job.resolve(DatabaseUnavailable(f"database down and spool failed: {exc}"))
            return
        self._spool_dirty = True
        self._counters.inc("spooled_rows", sum(j.size for j in jobs))
        for job in jobs:
            job.resolve(job.size)

    async def _replay_one_segment(self) -> None:
        segments = self.spool.segments()
        if not segments:
            self._spool_dirty = False
            return
        segment = segments[0]
        batches = await asyncio.to_thread(self.spool.read, segment)
        # spooled jobs were staged before they were spooled
        jobs = [
            _Job(b.positions, b.kind, b.received_at, b.observations, staged=True) for b in batches
        ]
        step = max(1, self._settings.batch_max_rows)
        try:
            i = 0
            while i < len(jobs):
                chunk: list[_Job] = []
                rows = 0
                while i < len(jobs) and (not chunk or rows + jobs[i].size <= step):
                    chunk.append(jobs[i])
                    rows += jobs[i].size
                    i += 1
                try:
                    await self._write(chunk)
                except _CONNECTION_ERRORS:
                    raise
                except _ROW_ERRORS:
                    await self._drop_connection()
                    await self._isolate(chunk)
        except _CONNECTION_ERRORS as exc:
            log.warning("spool replay interrupted: %s", exc)
            self._counters.inc("db_unavailable")
            await self._drop_connection()
            self._spooling = True
            return
        self._counters.inc("spool_replayed_rows", sum(j.size for j in jobs))
        await asyncio.to_thread(self.spool.remove, segment)
        log.info("replayed spool segment %s (%d jobs)", segment.name, len(jobs))

    async def _isolate(self, jobs: list[_Job]) -> None:
        """Write job by job, then row by row; rows that still fail go to ingest_rejects."""
        for job in jobs:
            try:
                job.resolve((await self._write([job]))[0])
                continue
            except _CONNECTION_ERRORS as exc:
                job.resolve(DatabaseUnavailable(str(exc)))
                await self._drop_connection()
                continue
            except _ROW_ERRORS:
                await self._drop_connection()
            job.resolve(await self._write_row_by_row(job))

    async def _write_row_by_row(self, job: _Job) -> int:
        kept = 0
        singles = [_Job([p], job.kind, job.received_at, staged=True) for p in job.positions]
        singles += [_Job([], job.kind, job.received_at, [o], staged=True) for o in job.observations]
        for single in singles:
            try:
                kept += (await self._write([single]))[0]
            except _CONNECTION_ERRORS:
                raise
            except _ROW_ERRORS as exc:
                await self._drop_connection()
                await self._reject(single, exc)
        return kept

    async def _reject(self, job: _Job, exc: Exception) -> None:
        record = (job.positions or job.observations)[0]
        self._counters.inc("rejected_rows", reason=type(exc).__name__)
        log.warning("rejected %r: %s", record, exc)
        conn = await self._connection()
        try:
            async with conn.transaction():
                await insert_reject(conn, record, f"{type(exc).__name__}: {exc}")
        except _ROW_ERRORS as kept_exc:  # counted and logged; the writer lives on
            self._counters.inc("reject_not_kept")
            log.error("could not keep the rejected row in ingest_rejects: %s", kept_exc)
            await self._drop_connection()

    def _after_commit(self, spans: dict[int, tuple[datetime, datetime]]) -> None:
        """Run the on-committed hook in its own task: acks never wait for events."""
        if self._on_committed is None:
            return
        task = asyncio.create_task(self._on_committed(spans))
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)

    async def _device_ids(self, conn: psycopg.AsyncConnection, jobs: list[_Job]) -> dict[str, int]:
        """uid -> id of the batch's devices; known ids are cached for a minute (a round trip
        saved a batch), unknown ones are looked up (and registered with accept-unknown)."""
        if time.monotonic() > self._ids_expire:
            self._ids.clear()
            self._ids_expire = time.monotonic() + 60.0
        for kind in {j.kind for j in jobs}:
            uids = sorted(
                (
                    {p.device_uid for j in jobs if j.kind == kind for p in j.positions}
                    | {o.sensor_uid for j in jobs if j.kind == kind for o in j.observations}
                )
                - self._ids.keys()
            )
            if uids:
                self._ids.update(
                    await resolve_device_ids(
                        conn, uids, accept_unknown=self._settings.accept_unknown, kind=kind
                    )
                )
        return self._ids

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, connect_timeout=5, application_name="geomon-writer"
            )
        return self._conn

    async def _drop_connection(self) -> None:
        self._ids.clear()  # ids registered in a rolled-back transaction must not be reused
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):  # it is being thrown away
                await self._conn.close()
        self._conn = None

    async def _write(self, jobs: list[_Job]) -> list[int]:
        conn = await self._connection()
        async with conn.transaction():
            ids = await self._device_ids(conn, jobs)
            prepared = prepare_rows(jobs, ids)
            pos = await write_positions(conn, prepared.positions) if prepared.positions else None
            obs = (
                await write_observations(
                    conn,
                    prepared.observations,
                    match_watchlists=self._settings.watchlist_matching,
                )
                if prepared.observations
                else None
            )
        if prepared.unknown:
            self._counters.inc("dropped", prepared.unknown, reason="unknown_device")
        if pos is not None and self._on_committed is not None:
            self._after_commit(prepared.spans)
        if pos is not None:
            self._counters.inc("positions_committed", pos.inserted)
            self._counters.inc("positions_duplicate", pos.duplicates)
            self._counters.inc("positions_conflict", pos.conflicts)
        if obs is not None:
            self._counters.inc("observations_committed", obs.inserted)
            self._counters.inc("observations_duplicate", obs.duplicates)
            self._counters.inc("sensor_alarms", obs.alarms)
            self._counters.inc("watchlist_events", obs.watchlist_events)
        return prepared.per_job
