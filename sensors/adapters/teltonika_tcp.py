"""Teltonika Codec 8 / 8E / 16 over TCP.

Handshake: the IMEI frame is answered ``01`` for a registered device (or any device with
``--accept-unknown``) and ``00`` + close for an unknown one; while the registry cannot be
reached and the IMEI is not cached we close without a reply, so the device retries later.
Each AVL packet is CRC-checked by the decoder; its 4-byte record-count ack is written only
after the batch writer returns (COMMIT, or the spool's fsync). A bad CRC gets no ack and the
connection stays open: the device resends. Codec 12/13/14 frames are logged and counted.
"""

from __future__ import annotations

import asyncio
import logging

from geomon.errors import DecodeError
from geomon.pipeline.metrics import COUNTERS
from sensors.adapters.submit import submit_with_backpressure
from sensors.protocols.teltonika import (
    IMEI_ACCEPT,
    IMEI_REJECT,
    AvlPacket,
    CommandPacket,
    ImeiFrame,
    TeltonikaStreamDecoder,
)
from sensors.registry import DeviceRegistry
from sensors.transports.tcp import Submit

log = logging.getLogger(__name__)


class TeltonikaSession:
    """One tracker connection: handshake, then AVL packets acked after commit."""

    def __init__(self, peer: str, submit: Submit, registry: DeviceRegistry) -> None:
        self.peer = peer
        self._submit = submit
        self._registry = registry
        self._decoder = TeltonikaStreamDecoder(expect_imei=True, check_crc=True)
        self.imei: str | None = None

    async def on_data(self, data: bytes, writer: asyncio.StreamWriter) -> bool:
        for item in self._decoder.feed(data):
            if isinstance(item, ImeiFrame):
                if not await self._handshake(item.imei, writer):
                    return False
            elif isinstance(item, AvlPacket):
                if not await self._packet(item, writer):
                    return False
            elif isinstance(item, CommandPacket):
                COUNTERS.inc("frames_accepted", protocol="teltonika", codec=str(item.codec))
                log.info(
                    "teltonika %s (%s): codec %d: %s",
                    self.peer,
                    self.imei,
                    item.codec,
                    [m.text or m.payload[:32].hex() for m in item.messages],
                )
            else:
                self._decode_error(item)
        return True

    async def _handshake(self, imei: str, writer: asyncio.StreamWriter) -> bool:
        allowed = await self._registry.allows(imei)
        if allowed is None:
            log.warning("teltonika %s: registry unreachable for %s; closing", self.peer, imei)
            return False
        if not allowed:
            COUNTERS.inc("unknown_device", protocol="teltonika")
            log.info("teltonika %s: unknown IMEI %s refused", self.peer, imei)
            writer.write(IMEI_REJECT)
            await writer.drain()
            return False
        self.imei = imei
        writer.write(IMEI_ACCEPT)
        await writer.drain()
        return True

    async def _packet(self, packet: AvlPacket, writer: asyncio.StreamWriter) -> bool:
        if self.imei is None:
            COUNTERS.inc("decode_errors", protocol="teltonika", error="no_handshake")
            return False
        COUNTERS.inc("frames_accepted", protocol="teltonika", codec=str(packet.codec))
        positions = packet.positions(self.imei)
        try:
            await submit_with_backpressure(self._submit, positions, kind="tracker")
        except Exception as exc:
            log.warning(
                "teltonika %s: %d records not stored (%s); closing without ack",
                self.peer,
                len(positions),
                exc,
            )
            return False
        writer.write(packet.ack)
        await writer.drain()
        COUNTERS.inc("acks_sent", protocol="teltonika")
        return True

    def _decode_error(self, exc: DecodeError) -> None:
        COUNTERS.inc("decode_errors", protocol="teltonika", error=type(exc).__name__)
        log.info(
            "teltonika %s (%s): rejected %s: %s", self.peer, self.imei, exc.frame[:80].hex(), exc
        )

    async def on_idle(self, writer: asyncio.StreamWriter) -> None:
        return None

    async def on_close(self) -> None:
        if self._decoder.framer.pending:
            COUNTERS.inc("decode_errors", protocol="teltonika", error="truncated_at_close")
