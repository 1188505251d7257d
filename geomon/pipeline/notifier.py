"""Outbound notifications: drains the delivery outbox to webhooks (HMAC-SHA256 signed JSON
body, retried with exponential back-off) and MQTT (paho-mqtt, QoS 1).

Webhook requests carry ``X-Geomon-Signature: sha256=<hex HMAC of the raw body with the
target's secret>`` and ``X-Geomon-Event: <id>``; receivers recompute the HMAC over the exact
bytes they received and compare in constant time. A 2xx answer is delivered; anything else
(or no answer) is retried after 2, 4, 8 … s up to ``max_attempts``, every attempt logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg

from geomon.store.live import EVENTS_CHANNEL, listener
from geomon.store.notifications import claim_due, record_attempt

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Geomon-Signature"


def payload(delivery: dict[str, Any]) -> bytes:
    """The JSON body sent for one event (stable key order, so signatures are reproducible)."""
    body = {
        k: delivery[k]
        for k in (
            "id",
            "kind",
            "severity",
            "occurred_at",
            "lon",
            "lat",
            "state",
            "agency",
            "device_uid",
            "zone_id",
            "attrs",
        )
    }
    return json.dumps(body, default=str, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempt: int, base_s: float = 2.0, cap_s: float = 600.0) -> timedelta:
    """Delay before retry number ``attempt`` (1-based): base · 2^(attempt-1), capped."""
    return timedelta(seconds=min(base_s * 2 ** (attempt - 1), cap_s))


async def send_webhook(
    client: httpx.AsyncClient, d: dict[str, Any]
) -> tuple[bool, int | None, str | None]:
    body = payload(d)
    headers = {
        "Content-Type": "application/json",
        "X-Geomon-Event": str(d["id"]),
        SIGNATURE_HEADER: sign(d["secret"], body),
    }
    try:
        r = await client.post(d["url"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        return False, None, f"{type(exc).__name__}: {exc}"
    return r.is_success, r.status_code, None if r.is_success else r.text[:200]


def publish_mqtt(d: dict[str, Any], timeout_s: float = 5.0) -> tuple[bool, int | None, str | None]:
    """Publish one event (QoS 1, waits for PUBACK); blocking — run in a thread."""
    import paho.mqtt.client as mqtt

    u = urlsplit(d["url"])
    topic = u.path.lstrip("/") or "geomon/events"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"geomon-ev-{d['id']}")
    if u.username:
        client.username_pw_set(u.username, u.password)
    try:
        client.connect(u.hostname or "127.0.0.1", u.port or 1883, keepalive=10)
        client.loop_start()
        info = client.publish(topic, payload(d), qos=1)
        info.wait_for_publish(timeout_s)
        ok = info.is_published()
        return ok, None, None if ok else "no PUBACK"
    except (OSError, ValueError, RuntimeError) as exc:
        return False, None, f"{type(exc).__name__}: {exc}"
    finally:
        client.loop_stop()
        client.disconnect()


async def deliver_due(
    conn: psycopg.AsyncConnection,
    client: httpx.AsyncClient,
    *,
    max_attempts: int = 6,
    base_s: float = 2.0,
) -> int:
    """One pass over the due deliveries (one transaction); returns how many were attempted."""
    async with conn.transaction():
        due = await claim_due(conn)
        for d in due:
            if d["channel"] == "webhook":
                ok, status, err = await send_webhook(client, d)
            else:
                ok, status, err = await asyncio.to_thread(publish_mqtt, d)
            attempt = d["attempts"] + 1
            retry = None if ok or attempt >= max_attempts else backoff(attempt, base_s)
            await record_attempt(
                conn, d["delivery_id"], ok=ok, status=status, error=err, retry_in=retry
            )
            if not ok:
                log.warning(
                    "notification %s of event %s failed (attempt %d): %s",
                    d["delivery_id"],
                    d["id"],
                    attempt,
                    err or status,
                )
    return len(due)


async def run_notifier(url: str, *, every_s: float = 1.0, max_attempts: int = 6) -> None:
    """Forever: drain the outbox when an event is announced (``NOTIFY geomon_events``, so a
    webhook leaves within milliseconds of the event's commit), and at least every
    ``every_s`` seconds for retries that fall due (cancel to stop)."""
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                async with (
                    await psycopg.AsyncConnection.connect(
                        url, application_name="geomon-notifier"
                    ) as conn,
                    await listener(url, EVENTS_CHANNEL) as wake,
                ):
                    while True:
                        await deliver_due(conn, client, max_attempts=max_attempts)
                        async for _ in wake.notifies(timeout=every_s, stop_after=1):
                            pass
            except (psycopg.Error, OSError) as exc:
                log.warning("notifier: database unavailable (%s); retrying", exc)
                await asyncio.sleep(every_s)
