"""Non-finite numbers, NUL and unpaired surrogates are refused at decode time, by every JSON
protocol, with a reason (issue 14: one ``Infinity`` in a sensor line used to stop a listener)."""

from __future__ import annotations

import pytest

from geomon.errors import DecodeError
from sensors.protocols import strict_json
from sensors.protocols.bcp import decode_observation
from sensors.protocols.mqtt_json import decode_position_payload
from sensors.protocols.osmand import decode_osmand

POISON = ["Infinity", "-Infinity", "NaN", "1e309", '"a\\u0000b"', '"\\ud800"']


@pytest.mark.parametrize("value", POISON)
def test_loads_refuses_what_jsonb_cannot_hold(value: str) -> None:
    with pytest.raises(strict_json.UnstorableJson):
        strict_json.loads(f'{{"x": {value}}}'.encode())


def test_loads_keeps_what_jsonb_holds() -> None:
    doc = strict_json.loads(
        '{"x": 1e308, "s": "\\ud83d\\ude00 \\\\u0000", "i": 12345678901234567890}'
    )
    assert doc == {"x": 1e308, "s": "\U0001f600 \\u0000", "i": 12345678901234567890}


@pytest.mark.parametrize("value", POISON)
def test_sensor_line(value: str) -> None:
    line = (
        '{"sensor":"s1","time":"2026-11-29T00:00:00Z","kind":"vehicle_count","value":1,'
        f'"attributes":{{"x":{value}}}}}'
    ).encode()
    with pytest.raises(DecodeError, match="cannot store"):
        decode_observation(line, sensor_uid=None)


@pytest.mark.parametrize("value", POISON)
def test_mqtt_payload(value: str) -> None:
    payload = f'{{"lat": 42.1, "lon": 74.5, "tst": 1764374400, "note": {value}}}'.encode()
    with pytest.raises(DecodeError, match="cannot store"):
        decode_position_payload("dev-1", payload)


def test_mqtt_latitude_out_of_range_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="out of range"):
        decode_position_payload("dev-1", b'{"lat": 1e22, "lon": 74.5, "tst": 1764374400}')


@pytest.mark.parametrize("value", POISON)
def test_osmand_json_body(value: str) -> None:
    body = (
        '{"device_id":"p1","location":{"timestamp":"2026-11-29T00:00:00Z",'
        f'"coords":{{"latitude":42.1,"longitude":74.5,"speed":{value}}}}}}}'
    ).encode()
    with pytest.raises(DecodeError, match="cannot store"):
        decode_osmand("POST", "", "application/json", body)


def test_osmand_nul_in_a_query_parameter() -> None:
    with pytest.raises(DecodeError, match="NUL"):
        decode_osmand("GET", "id=p1%00x&lat=42.1&lon=74.5&timestamp=1764374400", "", b"")


def test_listener_health_follows_the_writer() -> None:
    from starlette.testclient import TestClient

    from sensors.adapters.http_app import make_http_app
    from sensors.registry import DeviceRegistry

    state = {"ok": False}

    async def submit(*_: object, **__: object) -> int:
        return 0

    app = make_http_app(
        submit,
        submit,
        DeviceRegistry("postgresql://unused@127.0.0.1:1/x"),
        healthy=lambda: state["ok"],
    )
    with TestClient(app) as c:
        assert c.get("/health").status_code == 503
        assert "geomon_writer_healthy 0" in c.get("/metrics").text
        state["ok"] = True
        assert c.get("/health").status_code == 200
        assert "geomon_writer_healthy 1" in c.get("/metrics").text
