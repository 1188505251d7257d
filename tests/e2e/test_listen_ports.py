"""Port exclusivity of ``geomon listen`` (issue 14 item 2): its own SO_REUSEPORT workers share
the ports, but a second instance, or any foreign socket on one of its ports (with or without
SO_REUSEPORT), makes it refuse to start with an error naming the port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from geomon.store.devices import add_device
from sensors.protocols.teltonika_encode import Record, encode_codec8
from tests.helpers.listener import ROOT, TeltonikaClient, run_listener

T0 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listen_cmd(db_url: str, tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GEOMON_DB__URL=db_url, GEOMON_INGEST__SPOOL_DIR=str(tmp_path / "spool2"))
    cmd = [sys.executable, "-m", "geomon.cli.__main__", "listen", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def _acked(address: tuple[str, int], imei: str, n: int) -> int | None:
    c = TeltonikaClient(address, imei)
    try:
        assert c.handshake() == b"\x01"
        recs = [
            Record(T0 + timedelta(seconds=30 * i), 42.8 + i * 1e-4, 74.6, 800, 90, 9, 40)
            for i in range(n)
        ]
        c.sock.sendall(encode_codec8(recs))
        return c.ack()
    finally:
        c.close()


@pytest.fixture
def imei(db_url: str) -> str:
    uid = "35" + str(uuid.uuid4().int)[:13]
    with psycopg.connect(db_url) as c:
        add_device(c, uid=uid, kind="tracker", agency="TEST-PORTS")
    return uid


def test_second_instance_refuses_and_first_keeps_serving(db_url, tmp_path, imei) -> None:
    tel, osm = _free_port(), _free_port()
    args = ["--workers", "2", "--teltonika", f"127.0.0.1:{tel}", "--osmand", f"127.0.0.1:{osm}"]
    with run_listener(db_url, args, tmp_path) as first:
        time.sleep(1.0)  # the second worker binds its SO_REUSEPORT sockets
        started = time.monotonic()
        second = _listen_cmd(db_url, tmp_path, [*args, "--metrics", "127.0.0.1:0"])
        assert second.returncode != 0
        assert time.monotonic() - started < 15  # fails fast, before any worker starts
        assert f"127.0.0.1:{tel}" in second.stderr and "already in use" in second.stderr
        assert first.proc.poll() is None
        # every connection still lands on the first instance's workers and is acked
        for _ in range(10):
            assert _acked(("127.0.0.1", tel), imei, 2) == 2
        assert first.metric("records_committed") >= 0  # its /metrics answers


@pytest.mark.parametrize("reuseport", [False, True], ids=["plain", "so_reuseport"])
def test_foreign_socket_on_a_port_is_refused(db_url, tmp_path, reuseport) -> None:
    tel, osm = _free_port(), _free_port()
    foreign = socket.socket()
    foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:  # the case the kernel would otherwise have shared silently
        foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    foreign.bind(("127.0.0.1", osm))
    foreign.listen(8)
    try:
        args = ["--workers", "2", "--teltonika", f"127.0.0.1:{tel}"]
        res = _listen_cmd(db_url, tmp_path, [*args, "--osmand", f"127.0.0.1:{osm}"])
        assert res.returncode != 0
        assert f"127.0.0.1:{osm} (osmand_http)" in res.stderr
        # nothing of ours was left listening on the free port either
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", tel))
    finally:
        foreign.close()


def test_single_worker_also_names_the_port(db_url, tmp_path) -> None:
    tel = _free_port()
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", tel))
        foreign.listen(1)
        res = _listen_cmd(db_url, tmp_path, ["--workers", "1", "--teltonika", f"127.0.0.1:{tel}"])
    assert res.returncode != 0 and f"127.0.0.1:{tel} (teltonika_tcp)" in res.stderr
