"""In-process fuzzing of every ingest decoder with hypothesis: hostile structured inputs
(valid documents with fields swapped for NaN, Infinity, 1e309, NUL, lone surrogates, huge
integers, wrong types) and random bytes. Each decoder may only answer with its records or a
:class:`~geomon.errors.DecodeError`, and every record it returns must be storable as it is:
finite numbers, coordinates in range, an aware time, no NUL, attributes jsonb accepts.

Each property runs twice: a short share in CI (``FUZZ_CI`` examples) and a long run marked
slow (``FUZZ_LONG`` examples, GEOMON_FUZZ_EXAMPLES to change it):

    GEOMON_SLOW=1 GEOMON_GATE=0 scripts/test -m slow tests/unit/test_fuzz_decoders.py
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import strategies as st

from geomon.errors import DecodeError
from geomon.model import Observation, Position
from sensors.protocols import bcp, cot, mqtt_json, osmand, strict_json
from sensors.protocols.nmea import NmeaStreamDecoder
from sensors.protocols.teltonika import (
    AvlPacket,
    CommandPacket,
    ImeiFrame,
    TeltonikaStreamDecoder,
    decode_packet,
)
from tests.helpers.fuzz import (
    BUDGETS,
    bcp_docs,
    cot_events,
    dumps,
    fuzz,
    mqtt_payloads,
    nmea_sentence,
    osmand_requests,
    teltonika_packets,
)

# --- what every decoded record must be ----------------------------------------------------


def _finite(value: float | None, name: str) -> None:
    assert value is None or (isinstance(value, float | int) and math.isfinite(value)), (
        name,
        value,
    )


def _clean_text(value: str, name: str) -> None:
    assert isinstance(value, str) and "\x00" not in value, (name, value)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in value), (name, value)


def _jsonb(attrs: dict[str, Any]) -> None:
    text = json.dumps(attrs, allow_nan=False)  # raises on NaN/Infinity
    strict_json.loads(text)  # raises on \u0000 and lone surrogates


def storable_position(p: Position) -> None:
    assert isinstance(p, Position)
    _clean_text(p.device_uid, "device_uid")
    assert p.device_uid.strip()
    assert p.fix_time.tzinfo is not None and p.fix_time.utcoffset() is not None
    assert math.isfinite(p.lat) and math.isfinite(p.lon)
    assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180, (p.lat, p.lon)
    for name in ("speed_mps", "course_deg", "altitude_m", "hdop"):
        _finite(getattr(p, name), name)
    assert p.satellites is None or isinstance(p.satellites, int)
    _jsonb(p.attrs)


def storable_observation(o: Observation) -> None:
    assert isinstance(o, Observation)
    _clean_text(o.sensor_uid, "sensor_uid")
    _clean_text(o.kind, "kind")
    if o.text is not None:
        _clean_text(o.text, "text")
    assert o.observed_at.tzinfo is not None
    for name in ("value", "lat", "lon"):
        _finite(getattr(o, name), name)
    _jsonb(o.attrs)


def check_positions(decode: Callable[[], list[Position]]) -> None:
    try:
        out = decode()
    except DecodeError:
        return
    for p in out:
        storable_position(p)


# --- MQTT geomon JSON and OwnTracks ---------------------------------------------------------


@pytest.mark.parametrize("examples", BUDGETS)
def test_mqtt_payloads(examples: int) -> None:
    fuzz(
        examples,
        st.tuples(st.sampled_from(["dev-1", "alice/iphone"]), mqtt_payloads),
        lambda tp: check_positions(lambda: mqtt_json.decode_position_payload(*tp)),
    )


# --- OsmAnd: query, form and JSON bodies -----------------------------------------------------


@pytest.mark.parametrize("examples", BUDGETS)
def test_osmand_requests(examples: int) -> None:
    now = datetime(2026, 11, 29, tzinfo=UTC)
    fuzz(
        examples,
        osmand_requests,
        lambda r: check_positions(lambda: osmand.decode_osmand(*r, received_at=now)),
    )


# --- BCP observations: HTTP body and line feed --------------------------------------------


def _observations(decode: Callable[[], list[Observation | DecodeError]]) -> None:
    for item in decode():
        if not isinstance(item, DecodeError):
            storable_observation(item)


def _observations_body(body: bytes) -> None:
    try:
        out = bcp.decode_observations(body)
    except DecodeError:
        return
    for o in out:
        storable_observation(o)


@pytest.mark.parametrize("examples", BUDGETS)
def test_bcp_observations(examples: int) -> None:
    bodies = (
        bcp_docs.map(dumps) | st.lists(bcp_docs, max_size=3).map(dumps) | st.binary(max_size=300)
    )
    fuzz(examples, bodies, _observations_body)


@pytest.mark.parametrize("examples", BUDGETS)
def test_bcp_line_feed(examples: int) -> None:
    lines = st.lists(bcp_docs.map(dumps) | st.binary(max_size=80), max_size=4).map(
        lambda ls: b"\n".join(ls) + b"\n"
    )
    fuzz(examples, lines, lambda data: _observations(lambda: bcp.BcpLineDecoder().feed(data)))


# --- NMEA: sentences with valid checksums and hostile fields ----------------------------------


def _nmea(lines: list[str]) -> None:
    dec = NmeaStreamDecoder("gps-1")
    data = ("\r\n".join(lines) + "\r\n").encode("ascii", "replace")
    for p in dec.feed(data) + dec.flush():
        storable_position(p)


@pytest.mark.parametrize("examples", BUDGETS)
def test_nmea_sentences(examples: int) -> None:
    fuzz(examples, st.lists(nmea_sentence, max_size=8), _nmea)


@pytest.mark.parametrize("examples", BUDGETS)
def test_nmea_bytes(examples: int) -> None:
    def check(data: bytes) -> None:
        dec = NmeaStreamDecoder("gps-1", require_checksum=False)
        for p in dec.feed(data) + dec.flush():
            storable_position(p)

    fuzz(examples, st.binary(max_size=400), check)


# --- Teltonika: random records, corrupted-and-resealed packets, random streams --------------


def _teltonika_frame(frame: bytes) -> None:
    try:
        packet = decode_packet(frame)
    except DecodeError:
        return
    if isinstance(packet, AvlPacket):
        for p in packet.positions("352093081234567"):
            storable_position(p)


@pytest.mark.parametrize("examples", BUDGETS)
def test_teltonika_records(examples: int) -> None:
    fuzz(examples, teltonika_packets, _teltonika_frame)


@pytest.mark.parametrize("examples", BUDGETS)
def test_teltonika_stream(examples: int) -> None:
    def check(data: bytes) -> None:
        for item in TeltonikaStreamDecoder(check_crc=False).feed(b"\x00\x0f352093081234567" + data):
            assert isinstance(item, ImeiFrame | AvlPacket | CommandPacket | DecodeError)
            if isinstance(item, AvlPacket):
                for p in item.positions("352093081234567"):
                    storable_position(p)

    fuzz(examples, st.binary(max_size=600), check)


# --- Cursor-on-Target XML -------------------------------------------------------------------


@pytest.mark.parametrize("examples", BUDGETS)
def test_cot_events(examples: int) -> None:
    def check(frame: bytes) -> None:
        try:
            p = cot.decode(frame)
        except DecodeError:
            return
        if p is not None:
            storable_position(p)

    fuzz(examples, cot_events | st.binary(max_size=300).map(lambda b: b"<event " + b), check)
