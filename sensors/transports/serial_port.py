"""Serial transport via pyserial: any ``serial.serial_for_url`` URL (``/dev/ttyUSB0``,
``socket://host:port``, ``rfc2217://…``, ``loop://``). Blocking reads run in a thread; when
the port vanishes (USB unplugged, remote closed) it is reopened after ``retry_s``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import serial

from geomon.pipeline.metrics import COUNTERS

log = logging.getLogger(__name__)


def open_port(url: str, baud: int) -> Any:
    return serial.serial_for_url(url, baudrate=baud, timeout=0.25)


async def pump_serial(
    url: str,
    session: Any,
    *,
    baud: int = 9600,
    retry_s: float = 1.0,
    stop: asyncio.Event | None = None,
    opener: Callable[[str, int], Any] = open_port,
) -> None:
    """Read ``url`` into ``session`` (``on_data(bytes, None)``/``on_idle(None)``) until
    ``stop``; reconnects whenever the port fails or cannot be opened."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            port = await asyncio.to_thread(opener, url, baud)
        except (serial.SerialException, OSError, ValueError) as exc:
            log.warning("serial %s: cannot open (%s); retrying in %.1f s", url, exc, retry_s)
            await _wait(stop, retry_s)
            continue
        log.info("serial %s: open", url)
        try:
            await _read_until_gone(port, session, stop)
        finally:
            with contextlib.suppress(Exception):
                port.close()
        if not stop.is_set():
            COUNTERS.inc("serial_reconnects")
            await _wait(stop, retry_s)
    await session.on_close()


async def _read_until_gone(port: Any, session: Any, stop: asyncio.Event) -> None:
    idle_sent = True
    while not stop.is_set():
        try:
            data = await asyncio.to_thread(port.read, 4096)
        except (serial.SerialException, OSError) as exc:
            log.warning("serial port lost: %s", exc)
            await session.on_idle(None)
            return
        if data:
            idle_sent = False
            await session.on_data(data, None)
        elif not idle_sent:
            await session.on_idle(None)
            idle_sent = True
        elif _closed(port):
            return


def _closed(port: Any) -> bool:
    """socket:// ports report a peer close as empty reads; detect it to reconnect."""
    sock = getattr(port, "_socket", None)
    if sock is None:
        return False
    try:
        import socket

        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
