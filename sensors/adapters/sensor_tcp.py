"""BCP sensor observations as a line-oriented TCP feed: one JSON object per line.

The feed has no acknowledgement, so back-pressure is what we give: the session awaits the
writer (commit or spool) before reading more. Bad lines are counted and logged; the
connection stays open.
"""

from __future__ import annotations

import asyncio
import logging

from geomon.errors import DecodeError
from geomon.model import Observation
from geomon.pipeline.metrics import COUNTERS
from sensors.adapters.submit import submit_with_backpressure
from sensors.protocols.bcp import BcpLineDecoder
from sensors.transports.tcp import Submit

log = logging.getLogger(__name__)


class SensorLineSession:
    """One feed connection (optionally bound to one sensor id)."""

    def __init__(self, peer: str, submit_observations: Submit, *, sensor_uid: str | None = None):
        self.peer = peer
        self._submit = submit_observations
        self._decoder = BcpLineDecoder(sensor_uid)

    async def on_data(self, data: bytes, writer: asyncio.StreamWriter | None) -> bool:
        await self._deliver(self._decoder.feed(data))
        return True

    async def on_idle(self, writer: asyncio.StreamWriter | None) -> None:
        return None

    async def on_close(self) -> None:
        await self._deliver(self._decoder.flush())

    async def _deliver(self, items: list[Observation | DecodeError]) -> None:
        good = []
        for item in items:
            if isinstance(item, DecodeError):
                COUNTERS.inc("decode_errors", protocol="bcp", error=type(item).__name__)
                log.info("sensor feed %s: %s", self.peer, item)
            else:
                good.append(item)
        if good:
            await submit_with_backpressure(self._submit, good)
