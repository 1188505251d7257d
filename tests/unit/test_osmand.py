"""OsmAnd (Traccar Client) requests from Traccar's tests, field by field (osmand.json)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomon.errors import DecodeError
from sensors.protocols.osmand import decode_osmand

ENTRIES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "trackers" / "osmand.json").read_text()
)
RECEIVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KNOT = 1852 / 3600
# expected attribute names (Traccar's) → ours
ATTR_NAMES = {"batteryLevel": "battery_level_pct", "motion": "motion", "odometer": "odometer_m"}


def request(entry: dict) -> tuple[str, str, str | None, bytes]:
    http = entry["http"]
    body = (http["body"] or "").encode()
    return http["method"], urlsplit(http["target"]).query, http["content_type"], body


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_osmand_vectors(entry: dict) -> None:
    exp = entry["expected"]
    if not exp["accepted"]:
        with pytest.raises(DecodeError):
            decode_osmand(*request(entry), received_at=RECEIVED)
        return
    positions = decode_osmand(*request(entry), received_at=RECEIVED)
    if exp.get("latitude") is None:
        assert positions == []  # no coordinates: acknowledged, nothing stored
        return
    (p,) = positions
    assert p.device_uid == exp["device_unique_id"] and p.protocol == "osmand"
    assert p.lat == pytest.approx(exp["latitude"], abs=1e-9)
    assert p.lon == pytest.approx(exp["longitude"], abs=1e-9)
    assert p.valid is exp["valid"]
    if exp["time"] is None:
        assert p.fix_time == RECEIVED and p.attrs["time_source"] == "received"
    else:
        assert iso(p.fix_time) == exp["time"]
    if "speed_mps" in exp:
        if exp["speed_mps"] is None:
            assert p.speed_mps is None
        else:
            # 1 knot = 1852/3600 m/s exactly; the fixture's 40 kn → 20.577825 is 5e-5 off
            assert p.speed_mps == pytest.approx(exp["speed_mps"], abs=1e-4)
            assert p.speed_mps == pytest.approx(exp["speed_knots"] * KNOT, abs=1e-9)
    if "course" in exp and "course_rule" not in exp:
        assert p.course_deg == pytest.approx(exp["course"])
    if "course_rule" in exp:  # heading -1 = unknown
        assert p.course_deg is None
    if "altitude" in exp:
        assert p.altitude_m == pytest.approx(exp["altitude"])
    if "accuracy_reported" in exp:
        assert p.attrs["accuracy_m"] == exp["accuracy_reported"]
    for name, value in exp["attributes"].items():
        if name == "hdop":
            assert p.hdop == value
        else:
            assert p.attrs[ATTR_NAMES.get(name, name)] == value, name


def test_query_speed_is_knots_json_speed_is_mps() -> None:
    (q,) = decode_osmand("GET", "id=7&lat=40&lon=70&timestamp=1700000000&speed=10", None, b"")
    assert q.speed_mps == pytest.approx(10 * KNOT)
    body = json.dumps(
        {"device_id": "7", "location": {"timestamp": 1700000000, "coords": {
            "latitude": 40, "longitude": 70, "speed": 10}}}
    ).encode()  # fmt: skip
    (j,) = decode_osmand("POST", "", "application/json", body)
    assert j.speed_mps == 10


@pytest.mark.parametrize(
    ("stamp", "want"),
    [
        ("1377177267", datetime(2013, 8, 22, 13, 14, 27, tzinfo=UTC)),
        ("1442068686579", datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)),
        ("2025-06-15T13:45:12.862Z", datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)),
        ("2025-06-15T15:45:12%2B02:00", datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC)),
        ("2025-06-15 13:45:12", datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC)),
        (
            "2025-06-15T15:45:12+02:00",
            datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC),
        ),  # '+' unescaped
    ],
)
def test_timestamp_forms(stamp: str, want: datetime) -> None:
    (p,) = decode_osmand("GET", f"id=1&lat=1&lon=2&timestamp={stamp}", None, b"")
    assert p.fix_time == want and p.fix_time.utcoffset() == timedelta(0)


def test_form_post_body() -> None:
    body = b"id=55&lat=43.2&lon=76.9&timestamp=1700000000&bearing=90&batt=40"
    (p,) = decode_osmand("POST", "", "application/x-www-form-urlencoded", body)
    assert (p.device_uid, p.lat, p.lon, p.course_deg) == ("55", 43.2, 76.9, 90.0)
    assert p.attrs["battery_level_pct"] == 40


def test_json_batch_of_locations() -> None:
    loc = {"timestamp": "2025-01-01T00:00:00Z", "coords": {"latitude": 1, "longitude": 2}}
    later = {"timestamp": "2025-01-01T00:00:05Z", "coords": {"latitude": 1.1, "longitude": 2}}
    body = json.dumps({"device_id": "b", "location": [loc, later]}).encode()
    assert [p.lat for p in decode_osmand("POST", "", "application/json", body)] == [1, 1.1]


@pytest.mark.parametrize(
    ("query", "body", "ctype"),
    [
        ("lat=1&lon=2&timestamp=1", b"", None),  # no id
        ("id=1&lat=91&lon=2&timestamp=1", b"", None),
        ("id=1&lat=x&lon=2&timestamp=1", b"", None),
        ("id=1&lat=1&lon=2&timestamp=yesterday", b"", None),
        ("id=1&lat=1&lon=2", b"", None),  # no timestamp and no received_at
        ("", b"{not json", "application/json"),
        ("", b'{"device_id": "1"}', "application/json"),
        ("", b'{"device_id": "1", "location": {"coords": {"latitude": "a"}}}', "application/json"),
        ("", b"\xff\xfe", "application/x-www-form-urlencoded"),
    ],
)
def test_bad_requests_raise_decode_error(query: str, body: bytes, ctype: str | None) -> None:
    with pytest.raises(DecodeError):
        decode_osmand("POST", query, ctype, body)


@settings(max_examples=300, deadline=None)
@given(
    query=st.text(max_size=120),
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
    ctype=st.sampled_from([None, "application/json", "application/x-www-form-urlencoded", "x"]),
)
def test_arbitrary_requests_only_decode_errors(query: str, body: bytes, ctype: str | None) -> None:
    try:
        positions = decode_osmand("POST", query, ctype, body, received_at=RECEIVED)
    except DecodeError:
        return
    for p in positions:
        assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180
        assert p.fix_time.utcoffset() == timedelta(0)


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    coords=st.dictionaries(
        st.sampled_from(["latitude", "longitude", "speed", "heading", "altitude", "accuracy"]),
        JSON_VALUE,
    ),
    extra=st.dictionaries(
        st.sampled_from(["timestamp", "battery", "activity", "event", "is_moving", "mock"]),
        JSON_VALUE,
    ),
)
def test_json_shapes_only_decode_errors(coords: dict, extra: dict) -> None:
    body = json.dumps({"device_id": "z", "location": {"coords": coords, **extra}}).encode()
    with contextlib.suppress(DecodeError):
        decode_osmand("POST", "", "application/json", body, received_at=RECEIVED)
