"""Wire fuzzing: hostile frames from tests/helpers/fuzz.py over real sockets into a real
``geomon listen --accept-unknown`` (so what decodes is written to its own database): Teltonika
packets with hostile records and valid CRCs, NMEA sentences with valid checksums, BCP
sensor lines, CoT events, OsmAnd HTTP requests and raw bytes on every port.

What must hold: a Teltonika packet that decodes is acked (stored, rejected into
``ingest_rejects`` or dropped by a stage: never left unanswered); an HTTP request is never
answered 5xx; after each property the listener still commits and acks a good packet, its
``/health`` answers 200, no writer restarted and nothing was logged with a traceback.

The CI share is ``FUZZ_WIRE_CI`` examples per property; the long run (``-m slow``)
``GEOMON_FUZZ_EXAMPLES`` (10,000 by default) per property:

    GEOMON_SLOW=1 GEOMON_GATE=0 scripts/test -m slow tests/e2e/test_fuzz_wire.py
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from hypothesis import strategies as st

from geomon.errors import DecodeError
from geomon.store import migrate
from geomon.store.partitions import ensure_partitions
from sensors.protocols.teltonika import AvlPacket, decode_packet
from sensors.protocols.teltonika_encode import Record, encode_codec8
from tests.conftest import create_database, drop_database
from tests.helpers.fuzz import (
    FUZZ_LONG,
    bcp_docs,
    cot_events,
    dumps,
    fuzz,
    nmea_sentence,
    osmand_requests,
    teltonika_packets,
)
from tests.helpers.listener import Listener, TeltonikaClient, run_listener

FUZZ_WIRE_CI = 100
WIRE_BUDGETS = [
    pytest.param(FUZZ_WIRE_CI, id="ci"),
    pytest.param(FUZZ_LONG, id="long", marks=pytest.mark.slow),
]
IMEIS = st.sampled_from([f"35209308{i:07d}" for i in range(5)])


@pytest.fixture(scope="module")
def fuzz_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_fuzz")
    try:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_partitions(conn, months_ahead=2)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def listener(fuzz_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listener]:
    tmp = tmp_path_factory.mktemp("fuzz-wire")
    ports = ["--teltonika", "--nmea", "--sensor-tcp", "--cot", "--osmand"]
    args = [a for p in ports for a in (p, "127.0.0.1:0")] + ["--accept-unknown"]
    with run_listener(fuzz_db, args, tmp) as lst:
        yield lst


def _send(address: tuple[str, int], data: bytes) -> None:
    with socket.create_connection(address, timeout=5) as s:
        s.sendall(data)


def _still_well(lst: Listener) -> None:
    assert lst.proc.poll() is None, "the listener died"
    host, port = lst.hostport("metrics")
    assert httpx.get(f"http://{host}:{port}/health", timeout=10).status_code == 200
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    client = TeltonikaClient(lst.hostport("teltonika"), "352093089999999")
    try:
        assert client.handshake() == b"\x01"
        client.sock.sendall(encode_codec8([Record(t, 42.87, 74.6, speed_kmh=20)]))
        assert client.ack(timeout_s=20) == 1, "a good packet was not acked after fuzzing"
    finally:
        client.close()
    assert lst.metric("writer_restarts") == 0
    log = lst.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 300 :][:3000]


@pytest.mark.parametrize("examples", WIRE_BUDGETS)
def test_teltonika_wire(listener: Listener, examples: int) -> None:
    address = listener.hostport("teltonika")

    def check(case: tuple[str, bytes, bytes]) -> None:
        imei, packet, junk = case
        try:
            decoded = decode_packet(packet)
        except DecodeError:
            decoded = None
        client = TeltonikaClient(address, imei)
        try:
            assert client.handshake() == b"\x01"
            client.sock.sendall(packet)
            if isinstance(decoded, AvlPacket):
                got = client.ack(timeout_s=20)
                assert got == len(decoded.records), f"ack {got} for {len(decoded.records)}"
            client.sock.sendall(junk)
        finally:
            client.close()

    fuzz(examples, st.tuples(IMEIS, teltonika_packets, st.binary(max_size=64)), check)
    _still_well(listener)


@pytest.mark.parametrize("examples", WIRE_BUDGETS)
def test_line_feeds_wire(listener: Listener, examples: int) -> None:
    """NMEA (device id prefixes), BCP sensor lines and CoT events, and raw bytes on each."""
    nmea = st.lists(
        st.tuples(st.sampled_from(["FZ-1", "FZ-2", ""]), nmea_sentence), min_size=1, max_size=6
    ).map(lambda ls: "".join(f"{d}{s}\r\n" for d, s in ls).encode("ascii", "replace"))
    bcp_lines = st.lists(bcp_docs.map(dumps), min_size=1, max_size=4).map(
        lambda ls: b"\n".join(ls) + b"\n"
    )
    cases = st.one_of(
        st.tuples(st.just("nmea"), nmea | st.binary(max_size=300)),
        st.tuples(st.just("sensor-tcp"), bcp_lines | st.binary(max_size=300)),
        st.tuples(st.just("cot"), cot_events | st.binary(max_size=300)),
    )
    fuzz(examples, cases, lambda case: _send(listener.hostport(case[0]), case[1]))
    _still_well(listener)


def _http_request(method: str, query: str, ctype: str, body: bytes) -> bytes:
    target = "/?" + query if query else "/"
    head = f"{method} {target} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode("utf-8", "surrogatepass") + body


def _status(address: tuple[str, int], request: bytes) -> int | None:
    """The response's status code (None: the server closed without one)."""
    with socket.create_connection(address, timeout=20) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)  # all of it: an incomplete request is answered or closed
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


@pytest.mark.parametrize("examples", WIRE_BUDGETS)
def test_osmand_http_wire(listener: Listener, examples: int) -> None:
    address = listener.hostport("osmand")

    def check(case: tuple[str, str, str, bytes] | bytes) -> None:
        request = case if isinstance(case, bytes) else _http_request(*case)
        status = _status(address, request)
        assert status is None or status < 500, f"{status} for {request[:300]!r}"

    raw = st.binary(max_size=300) | st.binary(max_size=200).map(lambda b: b"GET /?" + b)
    fuzz(examples, osmand_requests | raw, check)
    _still_well(listener)


def test_fuzz_wire_left_a_trace(listener: Listener, fuzz_db: str) -> None:
    """The fuzzed data really reached the database: positions and decode errors counted."""
    _still_well(listener)
    with psycopg.connect(fuzz_db) as conn:
        stored = conn.execute("SELECT count(*) FROM positions").fetchone()[0]
    assert stored > 0
    assert listener.metric("decode_errors") > 0
