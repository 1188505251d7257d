"""MQTT into a real listener through a Mosquitto the test starts itself (persistent, on a free
port): geomon JSON and OwnTracks positions, BCP observations, and the broker restarted
mid-stream → nothing the publisher got acknowledged is lost."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest

from geomon.store.devices import add_device
from tests.conftest import free_port
from tests.helpers.listener import run_listener

pytestmark = pytest.mark.mqtt
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
T0 = datetime(2026, 11, 4, 0, 0, tzinfo=UTC)


class Broker:
    """``mosquitto -c CONF`` in the foreground, with persistence so a restart keeps queues."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.conf = root / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {root}/\nautosave_interval 1\nautosave_on_changes true\n"
            "max_queued_messages 100000\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "mosquitto.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


def _publisher(port: int) -> mqtt.Client:
    pub = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id="pub-" + uuid.uuid4().hex[:8],
        clean_session=False,
    )
    pub.reconnect_delay_set(1, 2)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    return pub


def _count(db_url: str, sql: str, uid: str) -> int:
    with psycopg.connect(db_url) as c:
        row = c.execute(sql, (uid,)).fetchone()
    assert row is not None
    return int(row[0])


def _wait_count(db_url: str, sql: str, uid: str, n: int, timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    got = -1
    while time.monotonic() < deadline:
        got = _count(db_url, sql, uid)
        if got >= n:
            return got
        time.sleep(0.2)
    return got


POS = "SELECT count(*) FROM positions p JOIN devices d ON d.id=p.device_id WHERE d.uid=%s"
OBS = "SELECT count(*) FROM observations o JOIN devices d ON d.id=o.sensor_id WHERE d.uid=%s"


def _register(db_url: str, kind: str, uid: str = "") -> str:
    uid = uid or f"MQ-{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db_url) as c:
        add_device(c, uid=uid, kind=kind, agency="TEST-MQTT")
    return uid


def test_positions_owntracks_and_observations(broker, db_url, tmp_path) -> None:
    phone, tracker, sensor = (_register(db_url, k) for k in ("phone", "phone", "sensor"))
    phone = _register(db_url, "phone", uid=f"user/{phone}")
    env = {"GEOMON_INGEST__MQTT_CLIENT_ID": "geomon-" + uuid.uuid4().hex[:6]}
    with run_listener(db_url, ["--mqtt", f"mqtt://127.0.0.1:{broker.port}"], tmp_path, env=env):
        time.sleep(1.0)  # subscribed
        pub = _publisher(broker.port)
        for i in range(5):
            pub.publish(
                f"geomon/TEST-MQTT/{tracker}/position",
                json.dumps(
                    {
                        "time": (T0 + timedelta(seconds=i)).isoformat(),
                        "lat": 42.8,
                        "lon": 74.6,
                        "speed_mps": 3.0,
                    }
                ),
                qos=1,
            ).wait_for_publish(5)
        pub.publish(
            f"owntracks/{phone}",  # OwnTracks devices are keyed by USER/DEVICE
            json.dumps(
                {
                    "_type": "location",
                    "tst": 1793520000,
                    "lat": 42.9,
                    "lon": 74.5,
                    "vel": 36,
                    "acc": 12,
                }
            ),
            qos=1,
        ).wait_for_publish(5)
        pub.publish(
            f"geomon/TEST-MQTT/{sensor}/observation",
            json.dumps({"time": "2026-11-04T00:00:00Z", "kind": "intrusion", "value": 0.9}),
            qos=1,
        ).wait_for_publish(5)
        pub.publish(f"geomon/TEST-MQTT/{tracker}/position", b"{not json", qos=1)
        assert _wait_count(db_url, POS, tracker, 5) == 5
        assert _wait_count(db_url, POS, phone, 1) == 1
        assert _wait_count(db_url, OBS, sensor, 1) == 1
        pub.loop_stop()
    with psycopg.connect(db_url) as c:
        speed = c.execute(
            "SELECT p.speed_mps FROM positions p JOIN devices d ON d.id=p.device_id WHERE d.uid=%s",
            (phone,),
        ).fetchone()
    assert speed is not None and abs(speed[0] - 10.0) < 1e-9  # OwnTracks vel is km/h


def _wait_connected(client, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_broker_restart_mid_stream_loses_nothing(broker, db_url, tmp_path) -> None:
    uid = _register(db_url, "phone")
    env = {"GEOMON_INGEST__MQTT_CLIENT_ID": "geomon-" + uuid.uuid4().hex[:6]}
    with run_listener(db_url, ["--mqtt", f"mqtt://127.0.0.1:{broker.port}"], tmp_path, env=env):
        time.sleep(1.0)
        pub = _publisher(broker.port)
        acked: list[int] = []
        for i in range(300):
            if i in (100, 200):
                broker.stop()
                time.sleep(0.5)
                broker.start()
                _wait_connected(pub)  # the publisher's own reconnect is not under test
            payload = json.dumps(
                {
                    "time": (T0 + timedelta(seconds=i)).isoformat(),
                    "lat": 42.8 + i * 1e-5,
                    "lon": 74.6,
                }
            )
            info = pub.publish(f"geomon/TEST-MQTT/{uid}/position", payload, qos=1)
            try:
                info.wait_for_publish(10)
            except (RuntimeError, ValueError):
                continue
            if info.is_published():
                acked.append(i)
            time.sleep(0.005)
        pub.loop_stop()
        got = _wait_count(db_url, POS, uid, len(acked), timeout_s=40)
    assert len(acked) >= 250
    assert got >= len(acked)
