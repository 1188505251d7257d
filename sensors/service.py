"""Wiring ingest adapters to the pipeline: start the configured listeners around one
batch writer, and run until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import AsyncIterator

from geomon.pipeline.writer import BatchWriter
from geomon.settings import Settings
from geomon.store.db import require_url
from sensors.adapters.nmea_tcp import NmeaSession
from sensors.transports.tcp import serve_tcp

log = logging.getLogger(__name__)


@asynccontextmanager
async def running_listeners(settings: Settings, *, nmea_bind_device: str = "") -> AsyncIterator[
        list[asyncio.Server]]:
    """Start the writer and every listener configured in ``settings.ingest``."""
    writer = BatchWriter(require_url(settings.db), settings.ingest)
    await writer.start()
    servers: list[asyncio.Server] = []
    try:
        if settings.ingest.nmea_tcp:
            servers.append(await serve_tcp(
                settings.ingest.nmea_tcp,
                lambda peer: NmeaSession(peer, writer.submit, bind_device=nmea_bind_device),
            ))
        for server in servers:
            for sock in server.sockets:
                log.info("listening on %s", "%s:%s" % sock.getsockname()[:2])
        yield servers
    finally:
        for server in servers:
            server.close()
        await writer.stop()


def bound_addresses(servers: list[asyncio.Server]) -> Iterator[str]:
    for server in servers:
        for sock in server.sockets:
            yield "%s:%s" % sock.getsockname()[:2]


async def run_forever(settings: Settings, **kwargs: str) -> None:
    async with running_listeners(settings, **kwargs):
        await asyncio.Event().wait()
