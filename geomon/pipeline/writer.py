"""The batch writer: collects positions from many connections, runs the stages, writes one
COPY per batch in one transaction, and only then resolves each submitter's future — the
adapter acknowledges its device after that, never before.

When the database is unreachable the batch is retried with back-off (the submitters wait, so
their devices get no ack and keep their data). Queues are bounded: :meth:`submit` raises
:class:`Overloaded` when full so HTTP adapters can answer 503 and TCP adapters pause reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from geomon.errors import Overloaded
from geomon.model import Drop, Position
from geomon.pipeline.metrics import COUNTERS, Counters
from geomon.pipeline.stages import STAGES, Stage, StageContext, run_stages
from geomon.settings import IngestSettings
from geomon.store.devices import resolve_device_ids
from geomon.store.positions import WriteResult, stage_row, write_positions

log = logging.getLogger(__name__)

_CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, OSError)


@dataclass
class _Job:
    positions: list[Position]
    kind: str
    received_at: datetime
    done: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class BatchWriter:
    """One writer task per process; ``await submit(...)`` returns after COMMIT."""

    def __init__(self, url: str, settings: IngestSettings, *, counters: Counters = COUNTERS,
                 stages: tuple[Stage, ...] = STAGES) -> None:
        self._url = url
        self._settings = settings
        self._counters = counters
        self._stages = stages
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._queued_rows = 0
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._ctx = StageContext(now=datetime.now(UTC))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            await self._conn.close()

    async def submit(self, positions: list[Position], *, kind: str = "tracker") -> int:
        """Queue fixes of devices of ``kind``; returns, once they are committed, how many passed
        the stages (stored now or already stored before)."""
        if self._queued_rows + len(positions) > self._settings.queue_max_rows:
            self._counters.inc("overloaded")
            raise Overloaded("ingest queue is full", retry_after_s=1.0)
        job = _Job(positions, kind, datetime.now(UTC))
        self._queued_rows += len(positions)
        await self._queue.put(job)
        return await asyncio.shield(job.done)

    async def _run(self) -> None:
        while True:
            jobs = await self._collect()
            await self._write_with_retry(jobs)

    async def _collect(self) -> list[_Job]:
        jobs = [await self._queue.get()]
        rows = len(jobs[0].positions)
        deadline = time.monotonic() + self._settings.batch_max_ms / 1000
        while rows < self._settings.batch_max_rows:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                job = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                break
            jobs.append(job)
            rows += len(job.positions)
        self._queued_rows -= rows
        return jobs

    async def _write_with_retry(self, jobs: list[_Job]) -> None:
        delay = 0.2
        while True:
            try:
                results = await self._write(jobs)
            except _CONNECTION_ERRORS as exc:
                self._counters.inc("db_unavailable")
                log.warning("database unavailable (%s); retrying batch in %.1f s", exc, delay)
                await self._drop_connection()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except Exception as exc:  # a bad row: resolve the jobs with the error, keep going
                log.exception("batch failed")
                await self._drop_connection()
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(exc)
                return
            for job, result in zip(jobs, results, strict=True):
                if not job.done.done():
                    job.done.set_result(result)
            return

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, connect_timeout=5, application_name="geomon-writer"
            )
        return self._conn

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None

    async def _write(self, jobs: list[_Job]) -> list[int]:
        conn = await self._connection()
        async with conn.transaction():
            ids: dict[str, int] = {}
            for kind in {j.kind for j in jobs}:
                uids = sorted({p.device_uid for j in jobs if j.kind == kind for p in j.positions})
                ids.update(await resolve_device_ids(
                    conn, uids, accept_unknown=self._settings.accept_unknown, kind=kind))
            rows, per_job = self._prepare(jobs, ids)
            total = await write_positions(conn, rows) if rows else WriteResult(0, 0, 0)
        self._counters.inc("positions_committed", total.inserted)
        self._counters.inc("positions_duplicate", total.duplicates)
        self._counters.inc("positions_conflict", total.conflicts)
        return per_job

    def _prepare(self, jobs: list[_Job], ids: dict[str, int]) -> tuple[list[tuple], list[int]]:
        self._ctx.now = datetime.now(UTC)
        rows: list[tuple] = []
        per_job: list[int] = []
        for job in jobs:
            kept = 0
            for p in sorted(job.positions, key=lambda q: q.fix_time):
                device_id = ids.get(p.device_uid)
                out = Drop("unknown_device", p.device_uid) if device_id is None \
                    else run_stages(p, self._ctx, self._stages)
                if isinstance(out, Drop):
                    self._counters.inc("dropped", reason=out.reason)
                    continue
                rows.append(stage_row(device_id, out, job.received_at))  # type: ignore[arg-type]
                kept += 1
            per_job.append(kept)
        return rows, per_job


