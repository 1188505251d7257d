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
import os
import struct
import xml.sax.saxutils as sx
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomon.errors import DecodeError
from geomon.model import Observation, Position
from sensors.protocols import bcp, cot, mqtt_json, osmand, strict_json
from sensors.protocols.nmea import NmeaStreamDecoder
from sensors.protocols.nmea_encode import sentence
from sensors.protocols.teltonika import (
    AvlPacket,
    CommandPacket,
    ImeiFrame,
    TeltonikaStreamDecoder,
    crc16_ibm,
    decode_packet,
)
from sensors.protocols.teltonika_encode import Record, encode_codec8

FUZZ_CI = 150
FUZZ_LONG = int(os.environ.get("GEOMON_FUZZ_EXAMPLES", "10000"))
BUDGETS = [
    pytest.param(FUZZ_CI, id="ci"),
    pytest.param(FUZZ_LONG, id="long", marks=pytest.mark.slow),
]


def fuzz(examples: int, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> None:
    """Run ``check`` on ``examples`` inputs drawn from ``strategy``."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def run(value: Any) -> None:
        check(value)

    run()


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


# --- hostile values -----------------------------------------------------------------------

BIG = "__BIG__"  # replaced by the raw token 1e309 after json.dumps
NASTY_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "\udfff", "nan", "NaN", "inf", "-inf",
              "Infinity", "1e309", "-1e309", "%00", "2026-11-29T00:00:00Z", "9" * 400,
              "2026-11-29T00:00:00", "0", "-1", "1e22", BIG]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def dumps(doc: Any) -> bytes:
    """JSON as a hostile client writes it: NaN/Infinity literals, 1e309, surrogates escaped."""
    return json.dumps(doc).replace(f'"{BIG}"', "1e309").encode("utf-8", "surrogatepass")


def overridden(base: dict[str, Any], keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with some of ``keys`` replaced by hostile values, some removed."""
    return st.fixed_dictionaries(
        {}, optional={k: values | st.just(None) for k in keys} | {"junk": values}
    ).map(lambda over: {**base, **over})


def check_positions(decode: Callable[[], list[Position]]) -> None:
    try:
        out = decode()
    except DecodeError:
        return
    for p in out:
        storable_position(p)


# --- MQTT geomon JSON and OwnTracks ---------------------------------------------------------

MQTT_BASE = {"time": "2026-11-29T00:00:00Z", "lat": 42.8, "lon": 74.6, "speed_mps": 3.0,
             "attributes": {"a": 1}}  # fmt: skip
MQTT_KEYS = ["time", "lat", "lon", "speed_mps", "course_deg", "altitude_m", "hdop",
             "satellites", "valid", "attributes", "device"]  # fmt: skip
OWNTRACKS_BASE = {"_type": "location", "tst": 1796083200, "lat": 42.8, "lon": 74.6}
OWNTRACKS_KEYS = ["tst", "lat", "lon", "vel", "cog", "alt", "acc", "batt", "tid", "t", "conn"]


@pytest.mark.parametrize("examples", BUDGETS)
def test_mqtt_payloads(examples: int) -> None:
    docs = overridden(MQTT_BASE, MQTT_KEYS) | overridden(OWNTRACKS_BASE, OWNTRACKS_KEYS)
    payloads = docs.map(dumps) | st.lists(docs, max_size=3).map(dumps) | st.binary(max_size=300)
    fuzz(
        examples,
        st.tuples(st.sampled_from(["dev-1", "alice/iphone"]), payloads),
        lambda tp: check_positions(lambda: mqtt_json.decode_position_payload(*tp)),
    )


# --- OsmAnd: query, form and JSON bodies -----------------------------------------------------

OSMAND_KEYS = ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing",
               "heading", "altitude", "accuracy", "hdop", "batt", "battery", "valid",
               "x"]  # fmt: skip
params = st.lists(
    st.tuples(
        st.sampled_from(OSMAND_KEYS),
        st.sampled_from(NASTY_TEXT) | st.text(max_size=10) | st.just("42.8"),
    ),
    max_size=8,
).map(lambda pairs: [("id", "phone-1"), ("lat", "42.8"), ("lon", "74.6"), *pairs])


def _query(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import quote

    return "&".join(
        f"{quote(k)}={quote(v.replace(BIG, '1e309'), safe='', errors='surrogatepass')}"
        for k, v in pairs
    )


OSMAND_JSON = st.fixed_dictionaries(
    {"device_id": st.just("phone-1") | values},
    optional={
        "location": overridden(
            {"timestamp": "2026-11-29T00:00:00Z", "coords": {"latitude": 42.8, "longitude": 74.6}},
            [
                "timestamp",
                "coords",
                "battery",
                "activity",
                "event",
                "is_moving",
                "odometer",
                "mock",
            ],
        )
        | st.fixed_dictionaries(
            {
                "coords": overridden(
                    {"latitude": 42.8, "longitude": 74.6},
                    ["latitude", "longitude", "speed", "heading", "altitude", "accuracy"],
                )
            }  # fmt: skip
        )
        | values
    },
)


@pytest.mark.parametrize("examples", BUDGETS)
def test_osmand_requests(examples: int) -> None:
    now = datetime(2026, 11, 29, tzinfo=UTC)
    requests = st.one_of(
        params.map(lambda p: ("GET", _query(p), "", b"")),
        params.map(lambda p: ("POST", "", "application/x-www-form-urlencoded", _query(p).encode())),
        OSMAND_JSON.map(lambda d: ("POST", "", "application/json", dumps(d))),
        st.tuples(
            st.sampled_from(["GET", "POST", "PUT"]),
            st.text(max_size=40),
            st.sampled_from(["", "application/json", "text/plain"]),
            st.binary(max_size=200),
        ),  # fmt: skip
    )
    fuzz(
        examples,
        requests,
        lambda r: check_positions(lambda: osmand.decode_osmand(*r, received_at=now)),
    )


# --- BCP observations: HTTP body and line feed --------------------------------------------

BCP_BASE = {"sensor": "KZ-ANPR-1", "time": "2026-11-29T00:00:00Z", "kind": "vehicle_count",
            "value": 3}  # fmt: skip
BCP_KEYS = ["sensor", "sensor_id", "time", "kind", "lat", "lon", "value", "text", "attributes",
            "id"]  # fmt: skip
bcp_docs = overridden(BCP_BASE, BCP_KEYS) | st.builds(
    lambda kind, doc: {**doc, "kind": kind},
    st.sampled_from(sorted(bcp.KIND_RULES) + ["x-custom"]),
    overridden(BCP_BASE, BCP_KEYS),
)


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

NMEA_TEXT = ["", "nan", "inf", "1e309", "-0", "999999", "4250.1234", "N", "S", "E", "W", "A",
             "V", "123519.00", "291126", "07436.0000", "9" * 30]  # fmt: skip
nmea_field = st.sampled_from(NMEA_TEXT) | st.text(alphabet="0123456789.-+eE,NSEWAV", max_size=12)
nmea_sentence = st.builds(
    lambda kind, fields: sentence(f"GP{kind}," + ",".join(fields)),
    st.sampled_from(["RMC", "GGA", "GNS", "GLL", "VTG", "GSA", "ZDA"]),
    st.lists(nmea_field, max_size=14),
)


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

records = st.builds(
    Record,
    time=st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1), timezones=st.just(UTC)),
    lat=st.floats(-214.7, 214.7),
    lon=st.floats(-214.7, 214.7),
    altitude_m=st.integers(-32768, 32767),
    course_deg=st.integers(0, 65535),
    satellites=st.integers(0, 255),
    speed_kmh=st.integers(0, 65535),
    io=st.dictionaries(st.integers(1, 255), st.integers(0, 2**31 - 1), max_size=6),
)


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
    def packets(recs: list[Record], flips: list[tuple[int, int]]) -> bytes:
        frame = encode_codec8(recs)
        data = bytearray(frame[8:-4])
        for pos, mask in flips:
            data[pos % len(data)] ^= mask
        return (
            b"\0" * 4
            + struct.pack(">I", len(data))
            + bytes(data)
            + struct.pack(">I", crc16_ibm(bytes(data)))
        )

    strategy = st.builds(
        packets,
        st.lists(records, min_size=1, max_size=4),
        st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=3),
    )
    fuzz(examples, strategy, _teltonika_frame)


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

cot_attr = st.sampled_from(NASTY_TEXT) | st.text(max_size=12) | st.just("42.8")


def _cot_xml(a: dict[str, str]) -> bytes:
    q = {k: sx.quoteattr(v.replace(BIG, "1e309")) for k, v in a.items()}
    return (
        f"<event version='2.0' uid={q['uid']} type={q['type']} how={q['how']} "
        f"time={q['time']} start={q['start']} stale={q['stale']}>"
        f"<point lat={q['lat']} lon={q['lon']} hae={q['hae']} ce={q['ce']} le={q['le']}/>"
        f"<detail><track speed={q['speed']} course={q['course']}/>"
        f"<contact callsign={q['callsign']}/><__group name={q['team']}/></detail></event>"
    ).encode("utf-8", "surrogatepass")


COT_BASE = {"uid": "ANDROID-1", "type": "a-f-G-U-C", "how": "m-g", "time": "2026-11-29T00:00:00Z",
            "start": "2026-11-29T00:00:00Z", "stale": "2026-11-29T00:05:00Z", "lat": "42.8",
            "lon": "74.6", "hae": "800", "ce": "5", "le": "5", "speed": "3", "course": "90",
            "callsign": "Alpha", "team": "Cyan"}  # fmt: skip


@pytest.mark.parametrize("examples", BUDGETS)
def test_cot_events(examples: int) -> None:
    docs = st.fixed_dictionaries({}, optional=dict.fromkeys(COT_BASE, cot_attr)).map(
        lambda over: _cot_xml({**COT_BASE, **over})
    )

    def check(frame: bytes) -> None:
        try:
            p = cot.decode(frame)
        except DecodeError:
            return
        if p is not None:
            storable_position(p)

    fuzz(examples, docs | st.binary(max_size=300).map(lambda b: b"<event " + b), check)
