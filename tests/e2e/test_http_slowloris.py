"""Slowloris against the HTTP ports (issue 14): a request head — request line and headers —
must arrive within the header timeout (GEOMON_INGEST__HTTP_HEADER_TIMEOUT_S on the listener,
GEOMON_API__HEADER_TIMEOUT_S on the API; 10 s by default, 2 s here) of the connection's start
or of its first byte after the previous response; else 408 and the connection is closed. An
API request body has GEOMON_LIMITS__BODY_TIMEOUT_S (120 s by default, 2 s here; the
listener's body timeout is tested in test_http_body_limit.py). Real sockets against a real
``geomon listen`` and a real ``geomon serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ROOT, free_port
from tests.helpers.listener import Listener, run_listener

TIMEOUT_S = 2.0
SLACK_S = 3.0  # a loaded 2-core CI host: the cut may come this much after the deadline
HEAD = b"GET /?id=slow-1&lat=42.8&lon=74.6 HTTP/1.1\r\nHost: x\r\nUser-Agent: trickle\r\n\r\n"


def _wait_http(host: str, port: int, path: str = "/health", timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://{host}:{port}{path}", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on {host}:{port}")


@pytest.fixture(scope="module")
def listener(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listener]:
    env = {"GEOMON_INGEST__HTTP_HEADER_TIMEOUT_S": str(TIMEOUT_S)}
    tmp = tmp_path_factory.mktemp("slowloris")
    with run_listener(db_url, ["--osmand", "127.0.0.1:0", "--accept-unknown"], tmp, env=env) as lst:
        _wait_http(*lst.hostport("osmand"))
        yield lst


@pytest.fixture(scope="module")
def api(db_url: str, output_dir) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = dict(
        os.environ,
        GEOMON_DB__URL=db_url,
        GEOMON_API__PORT=str(port),
        GEOMON_API__HEADER_TIMEOUT_S=str(TIMEOUT_S),
        GEOMON_LIMITS__BODY_TIMEOUT_S=str(TIMEOUT_S),
        GEOMON_API__ASSETS_DIR=str(ROOT / "node_modules"),
        GEOMON_REFERENCE_DIR=str(ROOT / "data" / "reference"),
    )
    log = (output_dir / f"slowloris-api-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomon.cli", "serve", "--no-listeners"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http("127.0.0.1", port)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _trickle(address: tuple[str, int], data: bytes, every_s: float) -> tuple[float, bytes, int]:
    """Send ``data`` a byte at a time every ``every_s`` until the server answers or closes;
    returns (seconds until then, what it answered, bytes sent)."""
    with socket.create_connection(address, timeout=30) as s:
        t0 = time.monotonic()
        sent = 0
        for byte in data:
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            s.settimeout(every_s)
            try:
                answer = s.recv(4096)
            except TimeoutError:
                continue
            return time.monotonic() - t0, answer, sent
        s.settimeout(30)
        try:
            answer = s.recv(4096)
        except ConnectionResetError:
            answer = b""
        return time.monotonic() - t0, answer, sent


def _silent(address: tuple[str, int]) -> tuple[float, bytes]:
    with socket.create_connection(address, timeout=30) as s:
        t0 = time.monotonic()
        answer = s.recv(4096)
        return time.monotonic() - t0, answer


def _cut(took: float, answer: bytes) -> None:
    assert TIMEOUT_S - 0.5 <= took <= TIMEOUT_S + SLACK_S, f"cut after {took:.1f} s"
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


@pytest.mark.parametrize("port_of", ["listener", "api"])
def test_a_head_trickled_a_byte_a_second_is_cut(port_of: str, request) -> None:
    fixture = request.getfixturevalue(port_of)
    address = fixture.hostport("osmand") if port_of == "listener" else fixture
    took, answer, sent = _trickle(address, HEAD, every_s=1.0)
    _cut(took, answer)
    assert sent < len(HEAD)


@pytest.mark.parametrize("port_of", ["listener", "api"])
def test_a_connection_that_sends_nothing_is_cut(port_of: str, request) -> None:
    fixture = request.getfixturevalue(port_of)
    address = fixture.hostport("osmand") if port_of == "listener" else fixture
    _cut(*_silent(address))


def test_the_next_head_on_a_kept_alive_connection_has_the_same_deadline(listener) -> None:
    with socket.create_connection(listener.hostport("osmand"), timeout=30) as s:
        s.sendall(HEAD)
        first = b""
        while b"\r\n\r\n" not in first or not first.partition(b"\r\n\r\n")[2].endswith(b"\n"):
            chunk = s.recv(4096)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        t0 = time.monotonic()
        answer = b""
        for byte in HEAD:  # the second request, a byte every 0.5 s (under keep-alive's 5 s)
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            s.settimeout(0.5)
            try:
                answer = s.recv(4096)
                break
            except TimeoutError:
                continue
        _cut(time.monotonic() - t0, answer)


def test_a_slow_but_timely_head_is_served_and_cuts_are_counted(listener) -> None:
    took, answer, sent = _trickle(listener.hostport("osmand"), HEAD, every_s=0.01)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert sent == len(HEAD)
    assert listener.metric("http_refused") >= 2  # header_timeout, by the tests above


def test_an_api_body_trickled_a_byte_a_second_is_cut(api) -> None:
    head = (
        b"POST /auth/login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60\r\n\r\n"
    )
    with socket.create_connection(api, timeout=30) as s:
        s.sendall(head)
        t0 = time.monotonic()
        answer = b""
        for byte in b"username=nobody&password=" + b"x" * 35:
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            s.settimeout(1.0)
            try:
                answer = s.recv(4096)
                break
            except TimeoutError:
                continue
        took = time.monotonic() - t0
        assert TIMEOUT_S - 0.5 <= took <= TIMEOUT_S + SLACK_S, f"cut after {took:.1f} s"
        assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
        assert b"connection: close" in answer.lower()


@pytest.mark.parametrize("port_of", ["listener", "api"])
def test_a_head_past_64_kib_is_431_and_closed(port_of: str, request) -> None:
    fixture = request.getfixturevalue(port_of)
    address = fixture.hostport("osmand") if port_of == "listener" else fixture
    with socket.create_connection(address, timeout=30) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        for i in range(5):  # 80 KiB of headers (stop there: more unread data would be an RST)
            s.sendall(b"X-Pad-%d: %s\r\n" % (i, b"p" * 16384))
        try:
            while chunk := s.recv(4096):
                answer += chunk
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
