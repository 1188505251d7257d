"""Outbound notifications against real receivers: a local HTTP server (signature checked,
first attempt refused → retried) and a Mosquitto broker started on a free port."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
import pytest

from geomon.alerts.track import EventDraft
from geomon.pipeline.notifier import SIGNATURE_HEADER, backoff, deliver_due
from geomon.store import events as ev
from geomon.store.devices import add_device
from geomon.store.notifications import add_target, deliveries
from tests.conftest import free_port

SECRET = "s3cret-for-tests"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, dict[str, str]]] = []
    fail_first = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, dict(self.headers)))
        status = 500 if type(self).fail_first and len(type(self).received) == 1 else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def _event(db_url: str, agency: str, severity: str = "critical") -> int:
    with psycopg.connect(db_url) as conn:
        d = add_device(conn, uid=uuid.uuid4().hex[:12], kind="tracker", agency=agency)
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        ids = await ev.insert_events(
            conn,
            [
                EventDraft(
                    kind="border_cross",
                    severity=severity,
                    device_id=d.id,
                    occurred_at=datetime.now(UTC),
                    lon=68.0,
                    lat=37.0,
                    key=f"test:{uuid.uuid4().hex}",
                    attrs={"border": "AFG-TJK"},
                )
            ],
            {d.id: d.agency_id},
        )
        await conn.commit()
        return ids[0]


async def _drain(db_url: str, **kw: object) -> int:
    async with (
        await psycopg.AsyncConnection.connect(db_url) as conn,
        httpx.AsyncClient(timeout=5) as client,
    ):
        return await deliver_due(conn, client, **kw)  # type: ignore[arg-type]


def test_backoff_doubles_and_caps() -> None:
    assert [backoff(i).total_seconds() for i in (1, 2, 3)] == [2, 4, 8]
    assert backoff(30).total_seconds() == 600


async def test_webhook_signed_retried_and_logged(db_url: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    agency = "W" + uuid.uuid4().hex[:6]
    try:
        with psycopg.connect(db_url) as conn:
            add_target(
                conn,
                channel="webhook",
                agency=agency,
                secret=SECRET,
                url=f"http://127.0.0.1:{server.server_address[1]}/hook",
            )
        info_id = await _event(db_url, agency, severity="info")  # below min_severity: not sent
        event_id = await _event(db_url, agency)
        assert await _drain(db_url, base_s=0.05) == 1  # first attempt: HTTP 500
        time.sleep(0.1)
        assert await _drain(db_url, base_s=0.05) == 1  # retried: 204
        assert await _drain(db_url, base_s=0.05) == 0
    finally:
        server.shutdown()
    assert len(_Receiver.received) == 2
    body, headers = _Receiver.received[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    assert json.loads(body)["id"] == event_id and json.loads(body)["severity"] == "critical"
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        log = await deliveries(conn, event_id)
        assert [(s, a, code) for _, s, a, code, _ in log] == [("delivered", 2, 204)]
        assert await deliveries(conn, info_id) == []


@pytest.mark.mqtt
async def test_mqtt_publish_to_a_real_broker(db_url: str, tmp_path: Path) -> None:
    if not shutil.which("mosquitto") and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto not installed")
    import paho.mqtt.client as mqtt

    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(
        ["/usr/sbin/mosquitto", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    got: list[bytes] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append(m.payload)
    try:
        for _ in range(50):
            try:
                sub.connect("127.0.0.1", port)
                break
            except OSError:
                time.sleep(0.1)
        sub.subscribe("geomon/test/events", qos=1)
        sub.loop_start()
        time.sleep(0.3)
        agency = "M" + uuid.uuid4().hex[:6]
        with psycopg.connect(db_url) as conn:
            add_target(
                conn,
                channel="mqtt",
                agency=agency,
                url=f"mqtt://127.0.0.1:{port}/geomon/test/events",
            )
        event_id = await _event(db_url, agency)
        assert await _drain(db_url) == 1
        for _ in range(50):
            if got:
                break
            time.sleep(0.1)
    finally:
        sub.loop_stop()
        sub.disconnect()
        broker.terminate()
        broker.wait(5)
    assert [json.loads(p)["id"] for p in got] == [event_id]
