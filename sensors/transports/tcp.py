"""TCP listener transport: bytes only. Each connection gets its own session object that turns
bytes into records and replies; the transport pauses reading while the session is busy
writing (back-pressure comes for free: we await the session before reading more)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Session(Protocol):
    """One connection's protocol state."""

    async def on_data(self, data: bytes, writer: asyncio.StreamWriter) -> bool:
        """Handle a chunk; return False to close the connection."""

    async def on_idle(self, writer: asyncio.StreamWriter) -> None:
        """Called when no data arrived for ``idle_s`` seconds."""

    async def on_close(self) -> None:
        """The peer closed or the connection failed."""


def parse_hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


async def serve_tcp(
    address: str,
    new_session: Callable[[str], Session],
    *,
    idle_s: float = 1.5,
    read_size: int = 65536,
    reuse_port: bool = False,
) -> asyncio.Server:
    """Start a TCP server at HOST:PORT; each connection runs a session from ``new_session``."""
    host, port = parse_hostport(address)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        session = new_session(peer)
        try:
            await _pump(reader, writer, session, idle_s, read_size)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("connection %s lost: %s", peer, exc)
        finally:
            await session.on_close()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, reuse_address=True, reuse_port=reuse_port)


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    session: Session,
    idle_s: float,
    read_size: int,
) -> None:
    idle_sent = True
    while True:
        try:
            async with asyncio.timeout(idle_s):  # no task per read, unlike wait_for
                data = await reader.read(read_size)
        except TimeoutError:
            if not idle_sent:
                await session.on_idle(writer)
                idle_sent = True
            continue
        if not data:
            return
        idle_sent = False
        if not await session.on_data(data, writer):
            return


SessionFactory = Callable[[str], Session]
Submit = Callable[..., Awaitable[int]]
