"""MQTT ingest (paho-mqtt 2.x): QoS 1 subscriptions in a persistent session, each message
acknowledged to the broker (PUBACK) only after its records are committed or spooled.

Topics: ``geomon/+/+/position``, ``owntracks/+/+`` and ``geomon/+/+/observation``.
The session is persistent (MQTT 3.1.1 ``clean_session=False`` with a fixed client id), so
messages published while we are away or not yet acked are redelivered by the broker.
Decode errors are counted and acked (redelivering bad data forever helps no one).
The topic names the device (mqtt_json.topic_device); a payload naming another is refused
and counted (decode_errors{error=DeviceMismatch}). Devices must be registered (or
``--accept-unknown``; else counted as unknown_device); a device with a token hash must put
its token in every payload's ``token`` field (else auth_failed) unless
``GEOMON_INGEST__MQTT_BROKER_AUTH`` says the broker authenticates each device and its ACL
limits it to its own topics (docs/ingest.md, "MQTT broker authentication").
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from geomon.errors import DecodeError
from geomon.model import Observation, Position
from geomon.pipeline.metrics import COUNTERS
from sensors.adapters.submit import submit_with_backpressure
from sensors.protocols.bcp import decode_observations
from sensors.protocols.mqtt_json import decode_position_payload, topic_device
from sensors.registry import DeviceRegistry
from sensors.transports.tcp import Submit

log = logging.getLogger(__name__)
TOPICS = ("geomon/+/+/position", "owntracks/+/+", "geomon/+/+/observation")


class MqttIngest:
    """Follows a broker; start() returns once the client thread runs (it reconnects itself)."""

    def __init__(
        self,
        url: str,
        client_id: str,
        submit: Submit,
        submit_observations: Submit,
        registry: DeviceRegistry,
        *,
        max_in_flight: int = 1000,
        broker_auth: bool = False,
    ) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 1883
        self._submit, self._submit_obs = submit, submit_observations
        self._registry = registry
        self._broker_auth = broker_auth
        self._sem = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        self.client.max_inflight_messages_set(max_in_flight)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    async def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        for task in list(self._tasks):
            task.cancel()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object = None,
    ) -> None:
        log.info("mqtt connected to %s:%s (%s)", self.host, self.port, reason)
        client.subscribe([(t, 1) for t in TOPICS])
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.set)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        assert self._loop is not None
        copied = (msg.topic, bytes(msg.payload), msg.mid, msg.qos)
        self._loop.call_soon_threadsafe(self._spawn, copied)

    def _spawn(self, msg: tuple[str, bytes, int, int]) -> None:
        task = asyncio.ensure_future(self._handle(*msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        async with self._sem:
            try:
                stored = await self._store(topic, payload)
            except Exception as exc:
                log.warning("mqtt %s: not stored (%s); not acknowledged", topic, exc)
                return
            if stored and qos > 0:
                self.client.ack(mid, qos)

    async def _store(self, topic: str, payload: bytes) -> bool:
        """True when the message may be acked (stored, or bad data that was counted)."""
        found = topic_device(topic)
        if found is None:
            return True
        kind, uid = found
        records: list[Observation] | list[Position]
        try:
            if kind == "observation":
                records = decode_observations(payload, sensor_uid=uid)
            else:
                records = decode_position_payload(uid, payload)
        except DecodeError as exc:
            COUNTERS.inc("decode_errors", protocol="mqtt", error=type(exc).__name__)
            log.info("mqtt %s: %s: %s", topic, exc, payload[:80])
            return True
        if not records or not await self._authorised(uid, payload):
            return True
        COUNTERS.inc("frames_accepted", protocol="mqtt")
        if kind == "observation":
            await submit_with_backpressure(self._submit_obs, records)
        else:
            await submit_with_backpressure(self._submit, records, kind="phone")
        return True

    async def _authorised(self, uid: str, payload: bytes) -> bool:
        allowed = await self._registry.allows(uid)
        needs_token = await self._registry.has_token(uid)
        if allowed is None or needs_token is None:
            raise ConnectionError("device registry unavailable")
        if not allowed:
            COUNTERS.inc("unknown_device", protocol="mqtt")
            return False
        token = _payload_token(payload)
        if token is None and (self._broker_auth or not needs_token):
            return True  # the broker vouches for the topic, or the device has no token
        ok = await self._registry.token_ok(uid, token)
        if ok is None:
            raise ConnectionError("device registry unavailable")
        if ok:
            return True
        COUNTERS.inc("auth_failed", protocol="mqtt")
        return False


def _payload_token(payload: bytes) -> str | None:
    """The payload's ``token`` (None: none given; "" never authenticates: a non-string,
    or the items of a batch carrying different tokens)."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    items = doc if isinstance(doc, list) else [doc]
    tokens = {
        t if t is None or isinstance(t, str) else ""
        for t in (item.get("token") if isinstance(item, dict) else None for item in items)
    }
    if not tokens:
        return None
    return tokens.pop() if len(tokens) == 1 else ""
