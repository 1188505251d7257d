"""MQTT identity (issue 14 item 3) through a real Mosquitto and a real listener: the topic
(and the broker's per-device ACL) decides the device, never the payload; a device with an
ingest token presents it unless the broker authenticates it; OwnTracks devices are keyed by
user and device; unknown devices are counted as unknown_device."""

from __future__ import annotations

import getpass
import json
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from geomon.store.devices import add_device
from sensors.registry import hash_token
from tests.conftest import free_port
from tests.e2e.test_mqtt_ingest import MOSQUITTO, POS, Broker, _count, _wait_count
from tests.helpers.listener import run_listener

pytestmark = pytest.mark.mqtt
LISTENER_USER, LISTENER_PW = "geomon-listener", "listener-secret"


def _fix(i: int, **extra: object) -> str:
    return json.dumps({"time": 1793520000 + i, "lat": 42.8, "lon": 74.6, **extra})


class AclBroker:
    """Mosquitto as docs/ingest.md recommends: no anonymous clients, a password file, and a
    pattern ACL letting each device (username) write only its own topics."""

    def __init__(self, root: Path, users: dict[str, str]) -> None:
        self.port = free_port()
        pw, acl, conf = root / "passwd", root / "acl", root / "mosquitto.conf"
        pw.write_text("")
        for user, password in {LISTENER_USER: LISTENER_PW, **users}.items():
            subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True)
        acl.write_text(
            f"user {LISTENER_USER}\ntopic read geomon/#\ntopic read owntracks/#\n\n"
            "pattern write geomon/+/%u/position\npattern write geomon/+/%u/observation\n"
            "pattern write owntracks/%u/#\n"
        )
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {pw}\nacl_file {acl}\npersistence false\n"
            f"user {getpass.getuser()}\n"  # as root it would switch to `mosquitto`
        )
        self.log = open(root / "mosquitto.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=self.log, stderr=self.log)
        time.sleep(0.5)

    def pub(self, user: str, password: str, topic: str, message: str) -> None:
        subprocess.run(
            ["mosquitto_pub", "-p", str(self.port), "-u", user, "-P", password, "-q", "1",
             "-t", topic, "-m", message],
            check=True, timeout=10,
        )  # fmt: skip

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def _register(db_url: str, uid: str, token: str | None = None) -> str:
    with psycopg.connect(db_url) as c:
        add_device(
            c, uid=uid, kind="phone", agency="TEST-MQID", token_hash=token and hash_token(token)
        )
    return uid


def test_broker_acl_decides_the_device(db_url, tmp_path) -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    me = _register(db_url, f"mq-gm-{uuid.uuid4().hex[:6]}", token="tok-me")
    victim = _register(db_url, f"mq-victim-{uuid.uuid4().hex[:6]}", token="tok-victim")
    broker = AclBroker(tmp_path, {me: "pw-me"})
    env = {
        "GEOMON_INGEST__MQTT_CLIENT_ID": "geomon-" + uuid.uuid4().hex[:6],
        "GEOMON_INGEST__MQTT_BROKER_AUTH": "true",
    }
    url = f"mqtt://{LISTENER_USER}:{LISTENER_PW}@127.0.0.1:{broker.port}"
    try:
        with run_listener(db_url, ["--mqtt", url], tmp_path, env=env) as lst:
            time.sleep(1.0)  # subscribed
            # the broker authenticated `me`: no token needed on its own topic
            broker.pub(me, "pw-me", f"geomon/TEST-MQID/{me}/position", _fix(0))
            # a payload naming another device is refused and counted
            broker.pub(me, "pw-me", f"geomon/TEST-MQID/{me}/position", _fix(1, device=victim))
            # another device's topic: the broker's ACL drops it
            broker.pub(me, "pw-me", f"geomon/TEST-KGZ/{victim}/position", _fix(2))
            assert _wait_count(db_url, POS, me, 1) == 1
            deadline = time.monotonic() + 10
            while lst.metric("decode_errors") < 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert lst.metric("decode_errors") == 1
            time.sleep(1.0)
            assert _count(db_url, POS, victim) == 0
            assert _count(db_url, POS, me) == 1
    finally:
        broker.stop()


def test_tokens_owntracks_and_unknown_without_broker_auth(db_url, tmp_path) -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    broker = Broker(tmp_path)
    broker.start()
    try:
        _tokens_owntracks_and_unknown(broker, db_url, tmp_path)
    finally:
        broker.stop()


def _tokens_owntracks_and_unknown(broker: Broker, db_url: str, tmp_path: Path) -> None:
    tokened = _register(db_url, f"mq-tok-{uuid.uuid4().hex[:6]}", token="tok-1")
    alice = _register(db_url, f"alice-{uuid.uuid4().hex[:6]}/iphone-a")
    user, device = alice.split("/")
    env = {"GEOMON_INGEST__MQTT_CLIENT_ID": "geomon-" + uuid.uuid4().hex[:6]}
    url = f"mqtt://127.0.0.1:{broker.port}"

    def pub(topic: str, message: str) -> None:
        subprocess.run(
            ["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-t", topic, "-m", message],
            check=True, timeout=10,
        )  # fmt: skip

    loc = json.dumps({"_type": "location", "tst": 1793520000, "lat": 42.9, "lon": 74.5})
    with run_listener(db_url, ["--mqtt", url], tmp_path, env=env) as lst:
        time.sleep(1.0)
        pub(f"geomon/TEST-MQID/{tokened}/position", _fix(0))  # token missing: refused
        pub(f"geomon/TEST-MQID/{tokened}/position", _fix(1, token="wrong"))  # refused
        pub(f"geomon/TEST-MQID/{tokened}/position", _fix(2, token="tok-1"))  # stored
        pub(f"owntracks/bob-{uuid.uuid4().hex[:4]}/{device}", loc)  # not alice's: unknown
        pub(f"owntracks/{user}/{device}", loc)  # alice's phone
        pub("geomon/TEST-MQID/nobody-registered/position", _fix(3))
        assert _wait_count(db_url, POS, tokened, 1) == 1
        assert _wait_count(db_url, POS, alice, 1) == 1
        time.sleep(1.0)
        assert _count(db_url, POS, tokened) == 1 and _count(db_url, POS, alice) == 1
        assert lst.metric("auth_failed") == 2
        assert lst.metric("unknown_device") == 2
