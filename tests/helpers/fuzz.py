"""Hostile inputs for the ingest fuzzers (tests/unit/test_fuzz_decoders.py in process,
tests/e2e/test_fuzz_wire.py over real sockets): valid documents of every protocol with fields
swapped for NaN, Infinity, 1e309, NUL, lone surrogates, huge integers and wrong types.

``BUDGETS`` parametrises a property twice: ``FUZZ_CI`` examples in CI and a long run marked
slow (``FUZZ_LONG``, GEOMON_FUZZ_EXAMPLES to change it)."""

from __future__ import annotations

import json
import os
import struct
import xml.sax.saxutils as sx
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.protocols import bcp
from sensors.protocols.nmea_encode import sentence
from sensors.protocols.teltonika import crc16_ibm
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


MQTT_BASE = {"time": "2026-11-29T00:00:00Z", "lat": 42.8, "lon": 74.6, "speed_mps": 3.0,
             "attributes": {"a": 1}}  # fmt: skip
MQTT_KEYS = ["time", "lat", "lon", "speed_mps", "course_deg", "altitude_m", "hdop",
             "satellites", "valid", "attributes", "device"]  # fmt: skip
OWNTRACKS_BASE = {"_type": "location", "tst": 1796083200, "lat": 42.8, "lon": 74.6}
OWNTRACKS_KEYS = ["tst", "lat", "lon", "vel", "cog", "alt", "acc", "batt", "tid", "t", "conn"]


OSMAND_KEYS = ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing",
               "heading", "altitude", "accuracy", "hdop", "batt", "battery", "valid",
               "x"]  # fmt: skip
osmand_params = st.lists(
    st.tuples(
        st.sampled_from(OSMAND_KEYS),
        st.sampled_from(NASTY_TEXT) | st.text(max_size=10) | st.just("42.8"),
    ),
    max_size=8,
).map(lambda pairs: [("id", "phone-1"), ("lat", "42.8"), ("lon", "74.6"), *pairs])


def query(pairs: list[tuple[str, str]]) -> str:
    """A query string of ``pairs`` (1e309 for BIG; surrogates percent-encoded as is)."""
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


BCP_BASE = {"sensor": "KZ-ANPR-1", "time": "2026-11-29T00:00:00Z", "kind": "vehicle_count",
            "value": 3}  # fmt: skip
BCP_KEYS = ["sensor", "sensor_id", "time", "kind", "lat", "lon", "value", "text", "attributes",
            "id"]  # fmt: skip
bcp_docs = overridden(BCP_BASE, BCP_KEYS) | st.builds(
    lambda kind, doc: {**doc, "kind": kind},
    st.sampled_from(sorted(bcp.KIND_RULES) + ["x-custom"]),
    overridden(BCP_BASE, BCP_KEYS),
)


NMEA_TEXT = ["", "nan", "inf", "1e309", "-0", "999999", "4250.1234", "N", "S", "E", "W", "A",
             "V", "123519.00", "291126", "07436.0000", "9" * 30]  # fmt: skip
nmea_field = st.sampled_from(NMEA_TEXT) | st.text(alphabet="0123456789.-+eE,NSEWAV", max_size=12)
nmea_sentence = st.builds(
    lambda kind, fields: sentence(f"GP{kind}," + ",".join(fields)),
    st.sampled_from(["RMC", "GGA", "GNS", "GLL", "VTG", "GSA", "ZDA"]),
    st.lists(nmea_field, max_size=14),
)


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


def _resealed(recs: list[Record], flips: list[tuple[int, int]]) -> bytes:
    """A Codec 8 packet of ``recs`` with bytes of its data flipped, length and CRC redone."""
    frame = encode_codec8(recs)
    data = bytearray(frame[8:-4])
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    crc = struct.pack(">I", crc16_ibm(bytes(data)))
    return b"\0" * 4 + struct.pack(">I", len(data)) + bytes(data) + crc


teltonika_packets = st.builds(
    _resealed,
    st.lists(records, min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=3),
)


cot_attr = st.sampled_from(NASTY_TEXT) | st.text(max_size=12) | st.just("42.8")


def cot_xml(a: dict[str, str]) -> bytes:
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
cot_events = st.fixed_dictionaries({}, optional=dict.fromkeys(COT_BASE, cot_attr)).map(
    lambda over: cot_xml({**COT_BASE, **over})
)
osmand_requests = st.one_of(
    osmand_params.map(lambda p: ("GET", query(p), "", b"")),
    osmand_params.map(
        lambda p: ("POST", "", "application/x-www-form-urlencoded", query(p).encode())
    ),
    OSMAND_JSON.map(lambda d: ("POST", "", "application/json", dumps(d))),
    st.tuples(
        st.sampled_from(["GET", "POST", "PUT"]),
        st.text(max_size=40),
        st.sampled_from(["", "application/json", "text/plain"]),
        st.binary(max_size=200),
    ),
)
"""(method, query string, content type, body) of OsmAnd requests."""
_mqtt_docs = overridden(MQTT_BASE, MQTT_KEYS) | overridden(OWNTRACKS_BASE, OWNTRACKS_KEYS)
mqtt_payloads = (
    _mqtt_docs.map(dumps) | st.lists(_mqtt_docs, max_size=3).map(dumps) | st.binary(max_size=300)
)
