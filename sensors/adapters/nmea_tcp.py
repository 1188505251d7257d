"""NMEA 0183 over TCP: line framing, device binding by id prefix (or a configured device),
one epoch decoder per device, fixes submitted to the batch writer.

NMEA devices get no acknowledgement, so back-pressure is all we can give them: while the
writer's queue is full we stop reading the socket.
"""

from __future__ import annotations

import asyncio
import logging

from geomon.errors import DecodeError, Overloaded
from geomon.model import Position
from geomon.pipeline.metrics import COUNTERS
from sensors.framing import LineFramer
from sensors.protocols.nmea import NmeaDecoder, split_device_prefix
from sensors.transports.tcp import Submit

log = logging.getLogger(__name__)


class NmeaSession:
    """One TCP connection carrying NMEA sentences of one or more devices."""

    def __init__(
        self, peer: str, submit: Submit, *, bind_device: str = "", require_checksum: bool = True
    ) -> None:
        self.peer = peer
        self._submit = submit
        self._bind = bind_device
        self._require_checksum = require_checksum
        self._framer = LineFramer(max_line_bytes=1024)
        self._decoders: dict[str, NmeaDecoder] = {}

    async def on_data(self, data: bytes, writer: asyncio.StreamWriter) -> bool:
        positions: list[Position] = []
        for frame in self._framer.feed(data):
            positions += self._push(frame)
        await self._deliver(positions)
        return True

    async def on_idle(self, writer: asyncio.StreamWriter) -> None:
        # A receiver's epoch ends when the next one starts; a quiet link means it ended now.
        await self._deliver([p for d in self._decoders.values() for p in d.flush()])

    async def on_close(self) -> None:
        positions = [p for f in self._framer.flush() for p in self._push(f)]
        positions += [p for d in self._decoders.values() for p in d.flush()]
        await self._deliver(positions)

    def _push(self, frame: bytes) -> list[Position]:
        prefix, sentence = split_device_prefix(frame)
        uid = self._bind or prefix
        if not uid:
            COUNTERS.inc("decode_errors", protocol="nmea", error="unidentified_device")
            return []
        decoder = self._decoders.get(uid)
        if decoder is None:
            decoder = NmeaDecoder(uid, require_checksum=self._require_checksum)
            self._decoders[uid] = decoder
        try:
            positions = decoder.push(sentence)
        except DecodeError as exc:
            COUNTERS.inc("decode_errors", protocol="nmea", error=type(exc).__name__)
            log.info("nmea %s: rejected %s: %s", self.peer, frame[:80].hex(), exc)
            return []
        COUNTERS.inc("frames_accepted", protocol="nmea")
        return [p.replace(protocol="nmea") for p in positions]

    async def _deliver(self, positions: list[Position]) -> None:
        if not positions:
            return
        while True:
            try:
                await self._submit(positions, kind="serial-gps")
                return
            except Overloaded as exc:
                await asyncio.sleep(exc.retry_after_s)
