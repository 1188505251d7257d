"""Stream an agency's teams and critical events to a TAK server as Cursor-on-Target XML.

Every ``interval_s`` the latest fix of each of the agency's devices seen in the last
``since_s`` becomes a friendly ground unit (``geomon-device-<uid>``, callsign = the device's
name) and each open critical event with a place a spot marker (``geomon-event-<id>``); the
events are written back to back over one TCP (or TLS) connection, which is what a TAK Server
input or an ATAK "TAK Server" streaming connection reads (TAK's XML protocol, version 0).
A lost connection is reopened with backoff; nothing is queued across an outage (the next
round sends the current picture again, which is what a TAK map needs).
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from geomon.exchange import cot
from geomon.store import tak as store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TakTarget:
    host: str
    port: int
    cafile: str | None = None  # TLS when any of these is given (TAK Server's 8089)
    certfile: str | None = None
    keyfile: str | None = None

    @property
    def tls(self) -> bool:
        return bool(self.cafile or self.certfile)


def snapshot(conn: psycopg.Connection, agency_id: int, since_s: float) -> list[bytes]:
    """The CoT events of one round, each a complete XML document."""
    since = datetime.now(UTC) - timedelta(seconds=since_s)
    out = []
    for uid, name, lat, lon, fix_time, hdop in store.teams(conn, agency_id, since):
        out.append(cot.to_bytes(cot.device_event(uid, name, lat, lon, fix_time, hdop)))
    for eid, kind, state, when, lat, lon, who in store.critical_events(conn, agency_id, since):
        remarks = f"{kind} ({state}) {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC {who}".strip()
        out.append(cot.to_bytes(cot.alert_event(eid, lat, lon, when, remarks)))
    return out


def connect(target: TakTarget, timeout_s: float = 10.0) -> socket.socket:
    sock = socket.create_connection((target.host, target.port), timeout=timeout_s)
    if not target.tls:
        return sock
    ctx = ssl.create_default_context(cafile=target.cafile)
    if target.certfile:
        ctx.load_cert_chain(target.certfile, target.keyfile)
    return ctx.wrap_socket(sock, server_hostname=target.host)


def stream(
    target: TakTarget,
    rounds: Callable[[], list[bytes]],
    *,
    interval_s: float,
    once: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send ``rounds()`` every ``interval_s`` until interrupted (or once); events sent."""
    sent, backoff, sock = 0, 1.0, None
    try:
        while True:
            events = rounds()
            try:
                if sock is None:
                    sock = connect(target)
                    log.info("tak: connected to %s:%s", target.host, target.port)
                sock.sendall(b"".join(events))
                sent += len(events)
                backoff = 1.0
            except OSError as exc:
                if once:
                    raise
                log.warning(
                    "tak: %s:%s: %s; retrying in %.0f s", target.host, target.port, exc, backoff
                )
                if sock is not None:
                    sock.close()
                    sock = None
                sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            if once:
                return sent
            sleep(interval_s)
    finally:
        if sock is not None:
            sock.close()
