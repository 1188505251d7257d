"""Teltonika over real TCP into a real ``geomon listen`` process and PostGIS: the handshake,
the ack only after COMMIT, bad CRC (no ack, connection kept), duplicates absorbed and counted,
conflicting resends flagged, late data stored without moving device_latest back, Codec 12
handled, and a connection cut at a random byte of a frame."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from geomon.store.devices import add_device
from sensors.protocols.teltonika_encode import Record, encode_codec8
from tests.helpers.listener import TeltonikaClient, run_listener

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def _imei() -> str:
    return "35" + str(uuid.uuid4().int)[:13]


def _records(n: int, start: int = 0, lat: float = 42.87) -> list[Record]:
    return [
        Record(
            T0 + timedelta(seconds=30 * (start + i)),
            lat + (start + i) * 1e-4,
            74.6,
            800,
            90,
            9,
            40,
            io={239: 1, 21: 4},
        )
        for i in range(n)
    ]


def _rows(db_url: str, imei: str) -> int:
    with psycopg.connect(db_url) as c:
        row = c.execute(
            "SELECT count(*) FROM positions p JOIN devices d ON d.id = p.device_id "
            "WHERE d.uid = %s",
            (imei,),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def listener(db_url: str, tmp_path_factory: pytest.TempPathFactory):
    with run_listener(
        db_url, ["--teltonika", "127.0.0.1:0"], tmp_path_factory.mktemp("teltonika")
    ) as lst:
        yield lst


@pytest.fixture
def device(db_url: str) -> str:
    imei = _imei()
    with psycopg.connect(db_url) as c:
        add_device(c, uid=imei, kind="tracker", agency="TEST-TEL")
    return imei


def test_registered_device_gets_01_and_ack_after_rows_visible(listener, device, db_url) -> None:
    c = TeltonikaClient(listener.hostport("teltonika"), device)
    assert c.handshake() == b"\x01"
    c.sock.sendall(encode_codec8(_records(5)))
    assert c.ack() == 5
    assert _rows(db_url, device) == 5  # committed before the ack was sent
    c.close()


def test_unknown_imei_gets_00_and_close(listener) -> None:
    c = TeltonikaClient(listener.hostport("teltonika"), _imei())
    assert c.handshake() == b"\x00"
    assert c.sock.recv(1) == b""  # closed by the server
    c.close()


def test_no_ack_while_commit_is_held(listener, device, db_url) -> None:
    c = TeltonikaClient(listener.hostport("teltonika"), device)
    assert c.handshake() == b"\x01"
    with psycopg.connect(db_url) as conn:
        dev_id = conn.execute("SELECT id FROM devices WHERE uid = %s", (device,)).fetchone()
    with psycopg.connect(db_url) as blocker, psycopg.connect(db_url, autocommit=True) as look:
        blocker.execute("LOCK TABLE device_latest IN ACCESS EXCLUSIVE MODE")  # holds COMMIT
        c.sock.sendall(encode_codec8(_records(3)))
        assert c.ack(timeout_s=1.5) is None  # no ack before commit
        assert look.execute(
            "SELECT count(*) FROM positions WHERE device_id = %s", dev_id
        ).fetchone() == (0,)
        blocker.rollback()
    assert c.ack() == 3
    assert _rows(db_url, device) == 3
    c.close()


def test_bad_crc_no_ack_connection_kept(listener, device, db_url) -> None:
    c = TeltonikaClient(listener.hostport("teltonika"), device)
    assert c.handshake() == b"\x01"
    good = encode_codec8(_records(2))
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    c.sock.sendall(bad)
    assert c.ack(timeout_s=1.0) is None
    assert c.is_open()
    c.sock.sendall(good)  # the device resends
    assert c.ack() == 2
    assert _rows(db_url, device) == 2
    c.close()


def test_duplicates_absorbed_conflicts_flagged_late_data(listener, device, db_url) -> None:
    dup_before = listener.metric("positions_duplicate")
    c = TeltonikaClient(listener.hostport("teltonika"), device)
    assert c.handshake() == b"\x01"
    c.sock.sendall(encode_codec8(_records(4, start=10)))
    assert c.ack() == 4
    c.sock.sendall(encode_codec8(_records(4, start=10)))  # resent after a lost ack
    assert c.ack() == 4
    c.sock.sendall(encode_codec8(_records(1, start=11, lat=42.872)))  # same time, other place
    assert c.ack() == 1
    c.sock.sendall(encode_codec8(_records(3, start=0)))  # late: buffered records replayed
    assert c.ack() == 3
    c.close()
    assert _rows(db_url, device) == 7
    assert listener.metric("positions_duplicate") - dup_before == 5
    with psycopg.connect(db_url) as conn:
        latest = conn.execute(
            "SELECT l.fix_time FROM device_latest l JOIN devices d "
            "ON d.id = l.device_id WHERE d.uid = %s",
            (device,),
        ).fetchone()
        flagged = conn.execute(
            "SELECT count(*) FROM ingest_rejects r JOIN devices d "
            "ON d.id::text = r.device_uid WHERE d.uid = %s "
            "AND r.error LIKE 'conflicting%%'",
            (device,),
        ).fetchone()
    assert latest is not None and latest[0] == T0 + timedelta(seconds=30 * 13)
    assert flagged == (1,)


def test_codec12_and_garbage_are_handled(listener, device, db_url) -> None:
    frames = json.loads((ROOT / "tests/fixtures/trackers/teltonika.json").read_text())
    codec12 = bytes.fromhex(
        next(f["raw"] for f in frames if f["expected"].get("kind") == "codec12")
    )
    c = TeltonikaClient(listener.hostport("teltonika"), device)
    assert c.handshake() == b"\x01"
    c.sock.sendall(codec12 + b"\x17garbage\x42" + encode_codec8(_records(1, start=50)))
    assert c.ack() == 1
    c.close()


def test_connection_cut_at_random_byte_then_resent_once(listener, device, db_url) -> None:
    rng = random.Random(11)
    packet = encode_codec8(_records(6, start=100))
    for _ in range(3):
        c = TeltonikaClient(listener.hostport("teltonika"), device)
        assert c.handshake() == b"\x01"
        cut = rng.randrange(1, len(packet))
        c.sock.sendall(packet[:cut])
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        time.sleep(0.2)
        assert _rows(db_url, device) == 0  # nothing partial stored
    c = TeltonikaClient(listener.hostport("teltonika"), device)
    assert c.handshake() == b"\x01"
    c.sock.sendall(packet)
    assert c.ack() == 6
    c.sock.sendall(packet)  # and again: still stored once
    assert c.ack() == 6
    c.close()
    assert _rows(db_url, device) == 6


def test_many_concurrent_devices(listener, db_url) -> None:
    imeis = [_imei() for _ in range(8)]
    with psycopg.connect(db_url) as conn:
        for imei in imeis:
            add_device(conn, uid=imei, kind="tracker", agency="TEST-TEL")
    acked: list[int] = []

    def run(imei: str) -> None:
        c = TeltonikaClient(listener.hostport("teltonika"), imei)
        assert c.handshake() == b"\x01"
        for k in range(5):
            c.sock.sendall(encode_codec8(_records(10, start=10 * k)))
            acked.append(c.ack() or 0)
        c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in imeis]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(acked) == 400
    assert sum(_rows(db_url, i) for i in imeis) == 400
