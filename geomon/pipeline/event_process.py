"""The ingest event hook in a process of its own.

The batch writer's ``on_committed`` hook (:class:`geomon.pipeline.eventing.EventHook`) costs
about as much CPU as ingest itself. Run on the listener's loop it stalls the loop (every
device's ack waits for the run); in a thread of the listener the two fight over the GIL
(docs/performance.md). So each listener process starts one child
that runs the hook: the parent merges the committed spans of each moment and writes them to
the child's stdin as one JSON line; the child merges what arrives while a run is in progress
into the next run. The child exits when its stdin closes (the listener stopped or died).

Events are derived data: a child that dies is restarted (the spans it had not run yet are
logged as missed); ingest and its acks never wait for events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from datetime import datetime
from typing import Any

import orjson

from geomon.alerts.track import from_us, to_us
from geomon.pipeline.eventing import EventHook, merge_spans
from geomon.pipeline.gc_tuning import freeze_startup_heap

log = logging.getLogger(__name__)

Spans = dict[int, tuple[datetime, datetime]]
_URL_ENV = "GEOMON_EVENTS_DB_URL"  # not on the command line: ps shows that to everyone


def encode(spans: Spans) -> bytes:
    return orjson.dumps([[d, to_us(lo), to_us(hi)] for d, (lo, hi) in spans.items()]) + b"\n"


def decode(line: bytes) -> Spans:
    return {int(d): (from_us(lo), from_us(hi)) for d, lo, hi in orjson.loads(line)}


class EventProcess:
    """Listener side: ``await self(spans)`` after each commit returns at once; a task sends
    the merged spans to the child, restarting it when it died."""

    def __init__(self, url: str, *, restart_s: float = 1.0) -> None:
        self._url = url
        self._restart_s = restart_s
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: Spans = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.restarts = 0

    async def start(self) -> None:
        await self._spawn()
        self._task = asyncio.create_task(self._send_loop(), name="event-process-feed")

    async def __call__(self, spans: Spans) -> None:
        merge_spans(self._pending, spans)
        self._wake.set()

    async def _spawn(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "geomon.pipeline.event_process",
            stdin=asyncio.subprocess.PIPE,
            env={**os.environ, _URL_ENV: self._url},
        )

    async def _send_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            spans, self._pending = self._pending, {}
            if not spans:
                continue
            proc = self._proc
            try:
                if proc is None or proc.returncode is not None or proc.stdin is None:
                    raise ConnectionError("event process is not running")
                proc.stdin.write(encode(spans))
                await proc.stdin.drain()
            except (ConnectionError, OSError) as exc:
                log.error(
                    "event process gone (%s): events of %d devices' latest fixes not "
                    "computed; restarting it",
                    exc,
                    len(spans),
                )
                await self._restart()

    async def _restart(self) -> None:
        self.restarts += 1
        await asyncio.sleep(self._restart_s)
        await self._kill()
        await self._spawn()

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the child finishes what it has, then exits
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def close(self) -> None:
        """Send what is pending, close the child's stdin and wait for it to finish."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        proc = self._proc
        if self._pending and proc is not None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError, OSError):
                proc.stdin.write(encode(self._pending))
                await proc.stdin.drain()
        await self._kill()


async def child_main(url: str, stream: asyncio.StreamReader) -> None:
    """Run the hook on every line of spans until EOF; spans that arrive while a run is in
    progress join the next one (EventHook merges calls waiting for its lock)."""
    hook = EventHook(url)
    runs: set[asyncio.Task[Any]] = set()
    try:
        while line := await stream.readline():
            try:
                spans = decode(line)
            except (ValueError, TypeError) as exc:
                log.error("event process: bad input line ignored: %s", exc)
                continue
            task = asyncio.create_task(hook(spans))
            runs.add(task)
            task.add_done_callback(runs.discard)
        if runs:
            await asyncio.gather(*runs, return_exceptions=True)
    finally:
        await hook.close()


async def _main() -> None:
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), sys.stdin)
    await child_main(os.environ[_URL_ENV], stream)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    started = time.monotonic()
    freeze_startup_heap()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
    log.info("event process exits after %.0f s", time.monotonic() - started)
