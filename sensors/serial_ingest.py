"""``geomon ingest serial``: one serial GPS → NMEA decoder → batch writer (no listener)."""

from __future__ import annotations

import asyncio

from geomon.pipeline.writer import BatchWriter
from geomon.settings import Settings
from geomon.store.db import require_url
from sensors.adapters.nmea_tcp import NmeaSession
from sensors.transports.serial_port import pump_serial


async def run_serial(
    settings: Settings,
    url: str,
    device: str,
    *,
    baud: int = 9600,
    require_checksum: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Until ``stop``: read the port, commit the fixes of ``device``."""
    writer = BatchWriter(require_url(settings.db), settings.ingest)
    await writer.start()
    try:
        session = NmeaSession(
            f"serial:{url}", writer.submit, bind_device=device, require_checksum=require_checksum
        )
        await pump_serial(url, session, baud=baud, stop=stop)
    finally:
        await writer.stop()
