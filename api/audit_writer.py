"""Group commit of audit rows: one transaction (one WAL flush) for the rows of every request
that finished while the previous batch was being committed.

Each audited request calls :meth:`AuditWriter.write` when its response is about to start and
waits until *its* row is committed (or the write failed: the middleware then refuses the read
with 503). Nothing is acknowledged before COMMIT returns, ``synchronous_commit`` stays the
server's (on), so a row is as durable as before; what changes is that 30 concurrent reads
share one INSERT and one fsync instead of taking 30 pooled connections and 30 fsyncs.

The writer owns one connection of its own (the app role's when ``GEOMON_DB__APP_URL`` is set)
outside the request pool: a request holding its data connection never waits for a second
pooled connection to write its audit row (under 50 clients and a pool of 20 that wait ran into
the pool timeout and refused reads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from geomon.store.audit import AuditEntry, write_audit_batch

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # rows per INSERT (11 parameters each, well under the 65,535 limit)


class AuditWriter:
    """``await writer.write(entry)`` returns once the row is committed; raises otherwise."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, name: str = "geomon-audit") -> None:
        self.url, self.timeout_s, self.name = url, timeout_s, name
        self._queue: list[tuple[AuditEntry, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # committed transactions (tests and /metrics-style checks)
        self.rows = 0

    async def write(self, entry: AuditEntry) -> None:
        """Queue ``entry`` and wait until its batch is committed (TimeoutError after
        ``timeout_s``; the exception of the batch when it failed)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self.name)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a waiter that timed out never reads its batch's exception: read it here
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queue.append((entry, done))
        self._wakeup.set()
        await asyncio.wait_for(asyncio.shield(done), self.timeout_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop_connection()
        for _, done in self._queue:
            if not done.done():
                done.set_exception(RuntimeError("audit writer closed"))
        self._queue.clear()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[AuditEntry, asyncio.Future[None]]]) -> None:
        try:
            conn = await self._connection()
            # BEGIN, INSERT and COMMIT in one round trip; COMMIT returns after the WAL flush
            async with conn.pipeline(), conn.transaction():
                await write_audit_batch(conn, [entry for entry, _ in batch])
        except Exception as exc:  # every waiter of this batch refuses its read
            log.error("audit batch of %d rows failed: %s", len(batch), exc)
            await self._drop_connection()
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        self.batches += 1
        self.rows += len(batch)
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.url, connect_timeout=int(max(1, self.timeout_s)),
                application_name=self.name,
                options=f"-c statement_timeout={int(self.timeout_s * 1000)}")
        return self._conn

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
