"""How a simulated vehicle reports: one link class per protocol, each keeping its unsent
fixes in a buffer that is only emptied when the server acknowledged them (Teltonika 4-byte
ack, HTTP 200, MQTT PUBACK) — like real trackers that replay their buffer after a coverage
gap. NMEA has no ack: it streams and loses what it could not send."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sensors.protocols.nmea_encode import gga, rmc
from sensors.protocols.teltonika_encode import Record, encode_codec8, imei_frame

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
KNOTS_PER_MPS = 1 / 0.514444


@dataclass(frozen=True, slots=True)
class Fix:
    time: datetime
    lat: float
    lon: float
    speed_mps: float
    course_deg: float
    altitude_m: float


def _hostport(address: str) -> tuple[str, int]:
    if "//" in address:
        parts = urlsplit(address)
        return parts.hostname or "127.0.0.1", parts.port or 80
    host, _, port = address.rpartition(":")
    return host, int(port)


class NmeaLink:
    """RMC + GGA with the id prefix over TCP; no ack, so nothing is buffered."""

    def __init__(self, uid: str, address: str) -> None:
        self.uid, self.address = uid, address
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, fixes: list[Fix]) -> int:
        if self.writer is None:
            _, self.writer = await asyncio.open_connection(*_hostport(self.address))
        for f in fixes:
            lines = (
                rmc(f.time, f.lat, f.lon, f.speed_mps, f.course_deg),
                gga(f.time, f.lat, f.lon, f.altitude_m),
            )
            self.writer.write("".join(f"{self.uid},{s}\r\n" for s in lines).encode())
        await self.writer.drain()
        return len(fixes)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class TeltonikaLink:
    """Codec 8 over TCP: handshake once, then packets of up to 50 records, each acked."""

    def __init__(self, uid: str, address: str, *, ack_timeout_s: float = 10.0) -> None:
        self.uid, self.address, self.ack_timeout_s = uid, address, ack_timeout_s
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(*_hostport(self.address))
        self.writer.write(imei_frame(self.uid))
        await self.writer.drain()
        reply = await asyncio.wait_for(self.reader.readexactly(1), self.ack_timeout_s)
        if reply != b"\x01":
            await self.close()
            raise ConnectionError(f"IMEI {self.uid} refused")

    async def send(self, fixes: list[Fix]) -> int:
        """Send up to 50 fixes; returns how many were acked (0 → resend later)."""
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        chunk = fixes[:50]
        self.writer.write(
            encode_codec8(
                [
                    Record(
                        f.time,
                        f.lat,
                        f.lon,
                        round(f.altitude_m),
                        round(f.course_deg) % 360,
                        9,
                        round(f.speed_mps * 3.6),
                        io={239: 1, 240: 1, 21: 4, 66: 13800},
                    )
                    for f in chunk
                ]
            )
        )
        await self.writer.drain()
        try:
            ack = await asyncio.wait_for(self.reader.readexactly(4), self.ack_timeout_s)
        except (TimeoutError, asyncio.IncompleteReadError):
            await self.close()  # no ack: reconnect and resend the same records
            return 0
        return len(chunk) if int.from_bytes(ack, "big") == len(chunk) else 0

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class OsmAndLink:
    """The Traccar Client's request: one POST with query parameters per fix; 200 = stored."""

    def __init__(self, uid: str, address: str, token: str = "") -> None:
        import httpx

        base = address if "//" in address else f"http://{address}"
        self.uid, self.token = uid, token
        self.client = httpx.AsyncClient(base_url=base, timeout=10)

    async def send(self, fixes: list[Fix]) -> int:
        sent = 0
        for f in fixes[:50]:
            params = {
                "id": self.uid,
                "lat": f"{f.lat:.6f}",
                "lon": f"{f.lon:.6f}",
                "timestamp": str(round(f.time.timestamp() * 1000)),
                "speed": f"{f.speed_mps * KNOTS_PER_MPS:.2f}",
                "bearing": f"{f.course_deg:.1f}",
                "altitude": f"{f.altitude_m:.0f}",
                "batt": "87",
            }
            if self.token:
                params["token"] = self.token
            r = await self.client.post("/", params=params)
            if r.status_code != 200:
                break
            sent += 1
        return sent

    async def close(self) -> None:
        await self.client.aclose()


class MqttLink:
    """geomon JSON positions on geomon/<agency>/<uid>/position at QoS 1; PUBACK = stored."""

    def __init__(self, uid: str, address: str, agency: str = "DEMO") -> None:
        import paho.mqtt.client as mqtt

        host, port = _hostport(address if "//" in address else f"mqtt://{address}")
        self.topic = f"geomon/{agency}/{uid}/position"
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{uid}", clean_session=False
        )
        self.client.connect_async(host, port or 1883)
        self.client.loop_start()

    async def send(self, fixes: list[Fix]) -> int:
        infos = [
            self.client.publish(
                self.topic,
                json.dumps(
                    {
                        "time": f.time.isoformat(),
                        "lat": f.lat,
                        "lon": f.lon,
                        "speed_mps": f.speed_mps,
                        "course_deg": f.course_deg,
                        "altitude_m": f.altitude_m,
                    }
                ),
                qos=1,
            )
            for f in fixes[:50]
        ]
        for info in infos:
            with contextlib.suppress(RuntimeError, ValueError):
                await asyncio.to_thread(info.wait_for_publish, 10)
        done = 0
        for info in infos:
            if not info.is_published():
                break
            done += 1
        return done

    async def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


Link = NmeaLink | TeltonikaLink | OsmAndLink | MqttLink
LINKS = {"nmea": NmeaLink, "teltonika": TeltonikaLink, "osmand": OsmAndLink, "mqtt": MqttLink}
