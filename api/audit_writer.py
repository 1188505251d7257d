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
import threading

import psycopg

from geomon.store.audit import AuditEntry, write_audit_batch

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # rows per INSERT (11 parameters each, well under the 65,535 limit)


class AuditWriter:
    """``await writer.write(entry)`` returns once the row is committed; raises otherwise.

    The batches are committed by a thread running its own event loop: under load the API's
    loop is slow per turn, and a commit there needed several turns (audited routes were
    markedly slower; docs/security.md). The writer's loop is idle but for audit work,
    so a batch costs one round trip; only the hand-back to the request takes one turn of the
    API's loop.
    """

    def __init__(self, url: str, *, timeout_s: float = 5.0, name: str = "geomon-audit") -> None:
        self.url, self.timeout_s, self.name = url, timeout_s, name
        self._queue: list[tuple[AuditEntry, _Waiter]] = []
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = threading.Lock()
        self.batches = 0  # committed transactions (tests)
        self.rows = 0

    async def write(self, entry: AuditEntry) -> None:
        """Queue ``entry`` and wait until its batch is committed (TimeoutError after
        ``timeout_s``; the exception of the batch when it failed)."""
        loop = self._started()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a waiter that timed out never reads its batch's exception: read it here
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        loop.call_soon_threadsafe(self._enqueue, entry, (asyncio.get_running_loop(), done))
        await asyncio.wait_for(asyncio.shield(done), self.timeout_s)

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._serve, args=(ready,), name=self.name, daemon=True
                )
                self._thread.start()
                ready.wait()
            assert self._loop is not None
            return self._loop

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop, self._wakeup = loop, asyncio.Event()
        loop.call_soon(ready.set)
        try:
            loop.run_until_complete(self._run())
        except asyncio.CancelledError:
            pass
        finally:
            loop.run_until_complete(self._drop_connection())
            loop.close()

    def _enqueue(self, entry: AuditEntry, waiter: _Waiter) -> None:
        self._queue.append((entry, waiter))
        assert self._wakeup is not None
        self._wakeup.set()

    async def close(self) -> None:
        """Stop the thread; rows still queued fail (their requests answer 503)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        task = asyncio.run_coroutine_threadsafe(self._stop(), loop)
        await asyncio.wrap_future(task)
        await asyncio.to_thread(thread.join, 10)

    async def _stop(self) -> None:
        for _, waiter in self._queue:
            _resolve(waiter, RuntimeError("audit writer closed"))
        self._queue.clear()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[AuditEntry, _Waiter]]) -> None:
        try:
            conn = await self._connection()
            # BEGIN, INSERT and COMMIT in one round trip; COMMIT returns after the WAL flush
            async with conn.pipeline(), conn.transaction():
                await write_audit_batch(conn, [entry for entry, _ in batch])
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            if len(batch) == 1:
                log.error("audit row refused: %s", exc)
                _resolve(batch[0][1], exc)
                return
            # one row the server refuses must not fail the other requests' reads
            log.warning("audit batch of %d rows refused (%s): retrying row by row", len(batch), exc)
            for one in batch:
                await self._commit([one])
            return
        except Exception as exc:  # every waiter of this batch refuses its read
            log.exception("audit batch of %d rows failed", len(batch))
            await self._drop_connection()
            for _, waiter in batch:
                _resolve(waiter, exc)
            return
        self.batches += 1
        self.rows += len(batch)
        for _, waiter in batch:
            _resolve(waiter, None)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.url,
                connect_timeout=int(max(1, self.timeout_s)),
                application_name=self.name,
                options=f"-c statement_timeout={int(self.timeout_s * 1000)}",
            )
        return self._conn

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


def _resolve(waiter: _Waiter, exc: BaseException | None) -> None:
    """Hand the outcome back to the request's loop (thread-safe)."""
    loop, done = waiter

    def settle() -> None:
        if not done.done():
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

    with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle)
