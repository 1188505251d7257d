"""TAK clients → ``geomon listen --cot``: the TAK client library pytak opens a real TCP
connection and sends Cursor-on-Target position reports; they are stored through the normal
pipeline (a resend is absorbed), a second uid on the same connection is refused, and an
unregistered phone is dropped like any unknown device."""

from __future__ import annotations

import asyncio
import time
import uuid
from configparser import ConfigParser

import psycopg
import pytak

from geomon.store.devices import add_device
from tests.helpers.listener import run_listener


def _count(db_url: str, uid: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM positions p JOIN devices d ON d.id = p.device_id "
            "WHERE d.uid = %s",
            (uid,),
        ).fetchone()
    return int(row[0]) if row else 0


async def _send(host: str, port: int, events: list[bytes]) -> None:
    config = ConfigParser()
    config["geomon"] = {"COT_URL": f"tcp://{host}:{port}"}
    _reader, writer = await pytak.protocol_factory(config["geomon"])
    for ev in events:
        writer.write(ev)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def _wait_for(pred, timeout_s: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_pytak_reports_are_stored_deduplicated_and_bound(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    phone, other = f"ANDROID-{uuid.uuid4().hex[:12]}", f"ANDROID-{uuid.uuid4().hex[:12]}"
    stranger = f"ANDROID-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db_url) as conn:
        add_device(conn, uid=phone, kind="phone", agency="KGZ-BS")
        add_device(conn, uid=other, kind="phone", agency="KGZ-BS")
    first = pytak.gen_cot(lat=40.51, lon=72.81, uid=phone, cot_type="a-f-G-U-C", callsign="A1")
    time.sleep(1.0)  # a plausible next fix: ~11 m a second later (the pipeline drops jumps)
    second = pytak.gen_cot(lat=40.5101, lon=72.81, uid=phone, cot_type="a-f-G-U-C", callsign="A1")
    spoof = pytak.gen_cot(lat=40.0, lon=72.0, uid=other, cot_type="a-f-G-U-C")
    ping = pytak.gen_cot(lat=0, lon=0, uid=phone, cot_type="t-x-c-t")
    assert first and second and spoof and ping
    with run_listener(db_url, ["--cot", "127.0.0.1:0"], tmp_path) as lis:
        host, port = lis.hostport("cot")
        # the same report twice (a client resending after a reconnect), a ping, another uid
        asyncio.run(_send(host, port, [first, ping, first, second, spoof]))
        assert _wait_for(lambda: _count(db_url, phone) == 2), _count(db_url, phone)
        asyncio.run(_send(host, port, [pytak.gen_cot(lat=1, lon=1, uid=stranger) or b""]))
        assert _wait_for(lambda: lis.metric("dropped") >= 1)
        assert lis.metric("decode_errors") == 1  # the other uid on the bound connection
        assert lis.metric("frames_ignored") == 1  # the ping
    assert _count(db_url, other) == 0 and _count(db_url, stranger) == 0
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT ST_Y(p.geom), p.protocol, p.attrs->>'callsign' FROM positions p "
            "JOIN devices d ON d.id = p.device_id WHERE d.uid = %s ORDER BY p.fix_time DESC "
            "LIMIT 1",
            (phone,),
        ).fetchone()
    assert row is not None and abs(row[0] - 40.5101) < 1e-6 and row[2] == "A1"
