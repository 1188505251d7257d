"""Cursor-on-Target over TCP: TAK clients (ATAK/WinTAK) pointed at geomon as a TAK server
send their position reports here (``GEOMON_INGEST__COT_TCP`` / ``geomon listen --cot``).

Identity: the device is the event's ``uid``, which must be a registered device (unknown uids
are dropped by the writer, as for every protocol, unless ``accept_unknown``). A connection is
bound to the first uid it reports: an event for another uid on the same connection is
refused and counted (``decode_errors{protocol=cot,error=DeviceMismatch}``), so one phone
cannot speak for another. CoT has no acknowledgement; as for NMEA, back-pressure is what a
client gets (reads pause while the writer's queue is full), and a resent report is absorbed
by the positions key (device, fix_time).
"""

from __future__ import annotations

import asyncio
import logging

from geomon.errors import DecodeError
from geomon.model import Position
from geomon.pipeline.metrics import COUNTERS
from sensors.adapters.submit import submit_with_backpressure
from sensors.framing import CotFramer
from sensors.protocols import cot
from sensors.transports.tcp import Submit

log = logging.getLogger(__name__)


class CotSession:
    """One TCP connection of one TAK client."""

    def __init__(self, peer: str, submit: Submit) -> None:
        self.peer = peer
        self._submit = submit
        self._framer = CotFramer(cot.MAX_FRAME)
        self.uid = ""

    async def on_data(self, data: bytes, writer: asyncio.StreamWriter) -> bool:
        await self._deliver([p for f in self._framer.feed(data) for p in self._push(f)])
        return True

    async def on_idle(self, writer: asyncio.StreamWriter) -> None:
        return None

    async def on_close(self) -> None:
        self._framer.flush()

    def _push(self, frame: bytes) -> list[Position]:
        try:
            pos = cot.decode(frame)
        except DecodeError as exc:
            COUNTERS.inc("decode_errors", protocol="cot", error=type(exc).__name__)
            log.info("cot %s: rejected %s: %s", self.peer, frame[:80].hex(), exc)
            return []
        if pos is None:
            COUNTERS.inc("frames_ignored", protocol="cot")
            return []
        if not self.uid:
            self.uid = pos.device_uid
        elif pos.device_uid != self.uid:
            COUNTERS.inc("decode_errors", protocol="cot", error="DeviceMismatch")
            log.info(
                "cot %s: bound to %s, refused an event of %s", self.peer, self.uid, pos.device_uid
            )
            return []
        COUNTERS.inc("frames_accepted", protocol="cot")
        return [pos]

    async def _deliver(self, positions: list[Position]) -> None:
        if positions:
            await submit_with_backpressure(self._submit, positions, kind="phone")
