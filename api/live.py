"""One LISTEN connection per process, fanned out to live-stream subscribers.

The hub listens on ``geomon_live`` and ``geomon_events`` with a dedicated autocommit
connection (:func:`geomon.store.live.listener`) and hands every notification to each
subscriber's bounded queue. A subscriber that falls behind (queue full) loses its queued
messages and gets a *resync* instead: the stream sends a fresh snapshot, which supersedes
whatever it missed. After the listening connection drops and comes back, every subscriber
resyncs too (notifications in between are lost by PostgreSQL's design).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

import psycopg

from geomon.store.live import EVENTS_CHANNEL, LIVE_CHANNEL, listener

log = logging.getLogger(__name__)
RESYNC = "resync"


@dataclass(eq=False)
class Subscriber:
    """A bounded queue of (kind, ids) with a resync flag for when it overflowed."""

    queue: asyncio.Queue[tuple[str, list[int]]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=256)
    )
    resync: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, kind: str, ids: list[int]) -> None:
        try:
            self.queue.put_nowait((kind, ids))
        except asyncio.QueueFull:
            self.force_resync()
        self.wake.set()

    def force_resync(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.resync = True
        self.wake.set()

    async def next_batch(self) -> tuple[bool, set[int], set[int]]:
        """Wait for news; returns (resync, device ids, event ids), coalescing the backlog."""
        while not self.resync and self.queue.empty():
            self.wake.clear()
            await self.wake.wait()
        resync, self.resync = self.resync, False
        devices: set[int] = set()
        events: set[int] = set()
        while not self.queue.empty():
            kind, ids = self.queue.get_nowait()
            (devices if kind == "devices" else events).update(ids)
        return resync, devices, events


class LiveHub:
    """Owns the LISTEN connection (open while anyone subscribes) and the subscribers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def subscribe(self) -> Subscriber:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="geomon-live-listen")
        sub = Subscriber()
        self.subscribers.add(sub)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), timeout=5)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget ``sub``; the last one out stops the LISTEN connection (none left over)."""
        self.subscribers.discard(sub)
        if not self.subscribers and self._task is not None:
            self._task.cancel()
            self._task = None
            self.listening = asyncio.Event()

    def dispatch(self, channel: str, payload: str) -> None:
        try:
            body = json.loads(payload)
        except ValueError:
            log.warning("ignoring malformed %s payload %.80r", channel, payload)
            return
        kind = "devices" if channel == LIVE_CHANNEL else "events"
        ids = [int(i) for i in body.get(kind, []) if isinstance(i, int)]
        if ids:
            for sub in list(self.subscribers):
                sub.offer(kind, ids)

    async def _run(self) -> None:
        while True:
            try:
                async with await listener(self.url, LIVE_CHANNEL, EVENTS_CHANNEL) as conn:
                    if self.listening.is_set():  # a reconnect: we may have missed news
                        for sub in list(self.subscribers):
                            sub.force_resync()
                    self.listening.set()
                    async for n in conn.notifies():
                        self.dispatch(n.channel, n.payload)
            except psycopg.OperationalError as exc:
                log.warning("live LISTEN connection lost (%s); retrying in 1 s", exc)
                await asyncio.sleep(1)
