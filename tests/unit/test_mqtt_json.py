"""MQTT position payloads: geomon JSON and OwnTracks, topics, and errors as DecodeErrors."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomon.errors import DecodeError
from sensors.protocols.mqtt_json import DeviceMismatch, decode_position_payload, topic_device


def test_topics() -> None:
    assert topic_device("geomon/KGZ-BS/TEAM-01/position") == ("position", "TEAM-01")
    assert topic_device("geomon/KGZ-BS/RAD-1/observation") == ("observation", "RAD-1")
    assert topic_device("owntracks/alice/phone") == ("position", "alice/phone")
    assert topic_device("owntracks/bob/phone") == ("position", "bob/phone")
    assert topic_device("owntracks//phone") is None
    assert topic_device("geomon/x/position") is None


def test_geomon_json_times_and_units() -> None:
    (p,) = decode_position_payload(
        "T1",
        b'{"time": 1793520000123, "lat": 42.5, "lon": 74.5,'
        b' "speed_mps": 4, "satellites": 8, "attributes": {"a": 1}}',
    )
    assert p.fix_time == datetime.fromtimestamp(1793520000.123, UTC)
    assert (p.device_uid, p.speed_mps, p.satellites, p.attrs) == ("T1", 4.0, 8, {"a": 1})
    (q,) = decode_position_payload(
        "T1", b'{"time": "2026-11-02T10:00:00+05:00", "lat": 1, "lon": 2, "device": "T1"}'
    )
    assert q.fix_time == datetime(2026, 11, 2, 5, 0, tzinfo=UTC) and q.device_uid == "T1"
    with pytest.raises(DeviceMismatch, match="OTHER"):  # the topic decides, not the payload
        decode_position_payload(
            "T1", b'{"time": 1793520000, "lat": 1, "lon": 2, "device": "OTHER"}'
        )


def test_owntracks_location_and_other_types() -> None:
    (p,) = decode_position_payload(
        "ph",
        b'{"_type": "location", "tst": 1793520000, "lat": 42,'
        b' "lon": 74, "vel": 36, "acc": 12, "batt": 80}',
    )
    assert p.speed_mps == pytest.approx(10.0) and p.attrs["accuracy_m"] == 12
    assert decode_position_payload("ph", b'{"_type": "transition", "tst": 1}') == []


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b'{"lat": 1, "lon": 2}',
        b'{"time": 1, "lat": "x", "lon": 2}',
        b'{"time": "2026-11-02T10:00:00", "lat": 1, "lon": 2}',
        b"[1]",
        b'{"time": true, "lat": 1, "lon": 2}',
        b'{"time": 1e400, "lat": 1, "lon": 2}',
        b'{"time": -1e20, "lat": 1, "lon": 2}',
        b'{"time": 1, "lat": 1, "lon": 2, "attributes": 3}',
    ],
)
def test_bad_payloads_raise_decode_errors(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_position_payload("T", payload)


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(), c, max_size=3),
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        k: _JSON
        for k in (
            "time",
            "lat",
            "lon",
            "speed_mps",
            "satellites",
            "valid",
            "attributes",
            "_type",
            "tst",
            "vel",
            "device",
        )
    },
)


@given(st.binary(max_size=200) | _FIELDS.map(lambda d: json.dumps(d).encode()))
def test_fuzz_only_decode_errors(payload: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_position_payload("T", payload)
