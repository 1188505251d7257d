"""The listener's HTTP port (issue 14 item 4): bodies are limited while reading (413 before the
body is in memory) and slow senders time out (408, closed) while other devices are acked."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from geomon.store.devices import add_device
from sensors.registry import hash_token
from tests.helpers.listener import run_listener

ENV = {"GEOMON_INGEST__HTTP_BODY_MAX_BYTES": "65536", "GEOMON_INGEST__HTTP_READ_TIMEOUT_S": "2"}


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split()[1])


@pytest.fixture
def listener(db_url, tmp_path):
    with run_listener(db_url, ["--osmand", "127.0.0.1:0"], tmp_path, env=ENV) as lst:
        host, port = lst.hostport("osmand")
        for _ in range(100):  # uvicorn starts listening just after the ports are printed
            try:
                httpx.get(f"http://{host}:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield lst


def test_declared_oversize_body_is_413_without_reading_it(listener) -> None:
    host, port = listener.hostport("osmand")
    before = _rss_kb(listener.proc.pid)
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /?id=X HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n")
        assert _status(s) == 413  # answered on the header alone, nothing of the body read
    assert _rss_kb(listener.proc.pid) - before < 20_000


def test_streamed_body_past_the_limit_is_413_while_reading(listener) -> None:
    host, port = listener.hostport("osmand")
    before = _rss_kb(listener.proc.pid)
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"POST /?id=X HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"b" * 65536)
        sent = 0
        try:
            while sent < 200 * 1024 * 1024:  # 200 MiB unless the server answers first
                s.sendall(chunk)
                sent += 65536
                s.settimeout(0)
                try:
                    if s.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    s.settimeout(10)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 50 * 1024 * 1024  # refused long before the sender was done
        assert _status(s) == 413
    assert _rss_kb(listener.proc.pid) - before < 20_000
    assert listener.metric("http_refused") >= 1


def test_slow_sender_times_out_while_others_are_acked(listener, db_url) -> None:
    uid = f"HB-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url) as c:
        add_device(c, uid=uid, kind="phone", agency="TEST-HTTPLIM", token_hash=hash_token("tok-hb"))
    host, port = listener.hostport("osmand")
    slow = socket.create_connection((host, port), timeout=15)
    slow.sendall(b"POST /?id=SLOW HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    stop = threading.Event()

    def trickle() -> None:  # 1 byte/s until the server gives up on us
        while not stop.is_set():
            try:
                slow.sendall(b"x")
            except OSError:
                return
            time.sleep(1)

    t = threading.Thread(target=trickle, daemon=True)
    started = time.monotonic()
    t.start()
    acked = 0
    for i in range(3):  # another device is served meanwhile
        r = httpx.get(
            f"http://{host}:{port}/",
            params={
                "id": uid,
                "lat": 42.8,
                "lon": 74.6,
                "timestamp": 1793520000 + i,
                "token": "tok-hb",
            },
            timeout=10,
        )
        acked += r.status_code == 200
    assert acked == 3
    try:
        assert _status(slow) == 408
        assert time.monotonic() - started < 8
        slow.settimeout(5)
        try:
            while slow.recv(4096):  # then closed by the server
                pass
        except ConnectionResetError:
            pass  # closed while our trickle was still sending: the kernel answers with RST
    finally:
        stop.set()
        slow.close()
