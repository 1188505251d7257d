"""BCP observation format: the documented examples decode, violations are clear DecodeErrors."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomon.errors import DecodeError
from geomon.model import Observation
from sensors.protocols.bcp import (
    BcpLineDecoder,
    decode_observation,
    decode_observations,
    is_alarm,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "bcp-observations.md"


def doc_examples() -> list[str]:
    return re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)


def test_every_documented_example_decodes() -> None:
    examples = doc_examples()
    assert len(examples) == 5
    kinds = set()
    for text in examples:
        obs = decode_observation(text, sensor_uid=None if '"sensor"' in text else "KZ-ALT-CAM-2")
        assert obs.observed_at.utcoffset() is not None and obs.observed_at.year >= 2000
        kinds.add(obs.kind)
    assert kinds == {"plate_read", "radiation_alarm", "vehicle_count", "intrusion",
                     "camera_detection"}  # fmt: skip


def test_fields_are_mapped() -> None:
    obs = decode_observation(
        b'{"sensor": "UZ-OYB-RPM-1", "time": 1764324902000, "kind": "radiation_alarm",'
        b' "value": 0.84, "text": "Cs-137", "attributes": {"unit": "uSv/h"}, "id": 77}'
    )
    assert obs == Observation(
        sensor_uid="UZ-OYB-RPM-1",
        observed_at=datetime(2025, 11, 28, 10, 15, 2, tzinfo=UTC),
        kind="radiation_alarm",
        value=0.84,
        text="Cs-137",
        attrs={"unit": "uSv/h", "message_id": "77"},
        raw=obs.raw,
    )
    assert is_alarm(obs)


def test_offsets_converted_to_utc_and_seconds_accepted() -> None:
    a = decode_observation('{"sensor":"s1","time":"2026-11-28T10:20:00+06:00","kind":"intrusion"}')
    b = decode_observation('{"sensor":"s1","time":1795839600,"kind":"intrusion"}')
    assert a.observed_at == datetime(2026, 11, 28, 4, 20, tzinfo=UTC)
    assert b.observed_at == datetime(2026, 11, 28, 4, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ('{"time":"2026-01-01T00:00:00Z","kind":"intrusion"}', "'sensor'"),
        ('{"sensor":"s","kind":"intrusion"}', "'time' is required"),
        ('{"sensor":"s","time":"2026-01-01T00:00:00","kind":"intrusion"}', "UTC offset"),
        ('{"sensor":"s","time":"yesterday","kind":"intrusion"}', "ISO-8601"),
        ('{"sensor":"s","time":1,"kind":"smoke"}', "'kind' must be one of"),
        ('{"sensor":"s","time":1,"kind":"plate_read"}', "plate_read needs 'text'"),
        ('{"sensor":"s","time":1,"kind":"radiation_alarm"}', "numeric 'value'"),
        ('{"sensor":"s","time":1,"kind":"vehicle_count","value":2.5}', "integer"),
        ('{"sensor":"s","time":1,"kind":"camera_detection","text":"p","value":7}', "[0, 1]"),
        ('{"sensor":"s","time":1,"kind":"intrusion","lat":40}', "both 'lat' and 'lon'"),
        ('{"sensor":"s","time":1,"kind":"intrusion","lat":95,"lon":1}', "out of range"),
        ('{"sensor":"s","time":1,"kind":"intrusion","value":"high"}', "'value' must be a number"),
        ('{"sensor":"s","time":1,"kind":"intrusion","lattitude":1}', "unknown field"),
        ('{"sensor":"s","time":1,"kind":"intrusion","attributes":[]}', "'attributes'"),
        ('{"sensor":"a b","time":1,"kind":"intrusion"}', "'sensor' must be an id"),
        ("[1, 2", "not valid JSON"),
        ("42", "JSON object"),
    ],
)
def test_violations_have_clear_messages(doc: str, message: str) -> None:
    with pytest.raises(DecodeError, match=re.escape(message)):
        decode_observation(doc)


def test_channel_sensor_binding() -> None:
    body = '{"time":1,"kind":"x-door_open"}'
    assert decode_observation(body, sensor_uid="gate-1").sensor_uid == "gate-1"
    with pytest.raises(DecodeError, match="does not match"):
        decode_observation('{"sensor":"gate-2","time":1,"kind":"intrusion"}', sensor_uid="gate-1")


def test_http_array_body() -> None:
    items = [
        {"sensor": "c", "time": 1700000000 + i, "kind": "vehicle_count", "value": i}
        for i in range(3)
    ]
    assert [o.value for o in decode_observations(json.dumps(items).encode())] == [0, 1, 2]
    items[1]["value"] = -1
    with pytest.raises(DecodeError, match="item 1"):
        decode_observations(json.dumps(items).encode())


def test_line_feed_every_split_point_bad_line_kept_going() -> None:
    lines = [
        b'{"sensor":"KZ-NZH-CNT-1","time":"2026-11-28T10:00:00Z","kind":"vehicle_count","value":17}',
        b"garbage {",
        b'{"sensor":"KZ-NZH-CNT-1","time":"2026-11-28T10:05:00Z","kind":"vehicle_count","value":21}',
        b'{"sensor":"KZ-NZH-CNT-1","time":"2026-11-28T10:06:00Z","kind":"plate_read","text":"$5"}',
    ]
    data = b"\r\n".join(lines) + b"\n"

    def run(chunks: list[bytes]) -> list:
        dec = BcpLineDecoder()
        out = [x for c in chunks for x in dec.feed(c)] + dec.flush()
        return [x.value if isinstance(x, Observation) else type(x).__name__ for x in out]

    whole = run([data])
    assert whole == [17.0, "ObservationError", 21.0, None]
    for i in range(len(data) + 1):
        assert run([data[:i], data[i:]]) == whole, i


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_line_decoder_arbitrary_bytes(data: bytes) -> None:
    dec = BcpLineDecoder(sensor_uid="s")
    for item in dec.feed(data) + dec.flush():
        assert isinstance(item, Observation | DecodeError)


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["sensor", "time", "kind", "lat", "lon", "value", "text", "attributes"]),
        JSON,
    )
)
def test_arbitrary_objects_only_decode_errors(doc: dict) -> None:
    with contextlib.suppress(DecodeError):
        decode_observation(json.dumps(doc))
