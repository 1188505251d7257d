"""UDP listener transport: each datagram goes to the session of its sender, in arrival
order, through one queue (so one sender's sentences stay in order)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sensors.transports.tcp import parse_hostport

log = logging.getLogger(__name__)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[tuple[str, bytes]]) -> None:
        self.queue = queue

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self.queue.put_nowait((f"{addr[0]}:{addr[1]}", data))
        except asyncio.QueueFull:  # UDP has no back-pressure: count and drop
            from geomon.pipeline.metrics import COUNTERS

            COUNTERS.inc("udp_dropped")


class UdpServer:
    """A bound UDP socket and the task feeding datagrams to per-sender sessions."""

    def __init__(self, transport: asyncio.DatagramTransport, task: asyncio.Task[None]) -> None:
        self.transport = transport
        self.task = task

    @property
    def address(self) -> str:
        host, port = self.transport.get_extra_info("sockname")[:2]
        return f"{host}:{port}"

    async def close(self) -> None:
        self.transport.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def serve_udp(
    address: str, new_session: Callable[[str], Any], *, idle_s: float = 0.5, max_queue: int = 10_000
) -> UdpServer:
    """Start a UDP listener; sessions get ``on_data(bytes, None)`` and ``on_idle(None)``."""
    host, port = parse_hostport(address)
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(max_queue)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Protocol(queue), local_addr=(host, port)
    )
    return UdpServer(transport, asyncio.create_task(_pump(queue, new_session, idle_s)))


async def _pump(
    queue: asyncio.Queue[tuple[str, bytes]], new_session: Callable[[str], Any], idle_s: float
) -> None:
    sessions: dict[str, Any] = {}
    busy: set[str] = set()
    while True:
        try:
            peer, data = await asyncio.wait_for(queue.get(), idle_s)
        except TimeoutError:
            for peer in busy:
                await sessions[peer].on_idle(None)
            busy.clear()
            continue
        session = sessions.get(peer)
        if session is None:
            session = sessions[peer] = new_session(peer)
        await session.on_data(data, None)
        busy.add(peer)
