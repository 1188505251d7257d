"""OsmAnd phones and BCP sensors over real HTTP / TCP into a real listener and PostGIS:
200 only after commit, 400 with a message for bad input, 401 without the device's token,
503 + Retry-After when the queue is full, observations stored and alarms evented, the
line-oriented sensor feed, NMEA over UDP, and /metrics in Prometheus text."""

from __future__ import annotations

import json
import socket
import time
import uuid

import httpx
import psycopg
import pytest

from geomon.store.devices import add_device
from sensors.registry import hash_token
from tests.helpers.listener import run_listener

TOKEN = "test-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def listener(db_url: str, tmp_path_factory: pytest.TempPathFactory):
    args = ["--osmand", "127.0.0.1:0", "--sensor-tcp", "127.0.0.1:0", "--nmea-udp", "127.0.0.1:0"]
    env = {"GEOMON_INGEST__QUEUE_MAX_ROWS": "100"}
    with run_listener(db_url, args, tmp_path_factory.mktemp("http"), env=env) as lst:
        yield lst


def _device(db_url: str, kind: str, token: bool = True) -> str:
    uid = f"{kind[:3].upper()}-{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db_url) as c:
        add_device(
            c,
            uid=uid,
            kind=kind,
            agency="TEST-HTTP",
            token_hash=hash_token(TOKEN) if token else None,
        )
    return uid


def _count(db_url: str, sql: str, uid: str) -> int:
    with psycopg.connect(db_url) as c:
        row = c.execute(sql, (uid,)).fetchone()
    assert row is not None
    return int(row[0])


POS = "SELECT count(*) FROM positions p JOIN devices d ON d.id=p.device_id WHERE d.uid=%s"
OBS = "SELECT count(*) FROM observations o JOIN devices d ON d.id=o.sensor_id WHERE d.uid=%s"


def _url(listener, path: str = "/") -> str:
    host, port = listener.hostport("osmand")
    return f"http://{host}:{port}{path}"


def test_osmand_query_200_after_commit(listener, db_url) -> None:
    uid = _device(db_url, "phone")
    q = {
        "id": uid,
        "lat": "42.87",
        "lon": "74.59",
        "timestamp": "1793520000",
        "speed": "10",
        "token": TOKEN,
    }
    r = httpx.post(_url(listener), params=q)
    assert r.status_code == 200, r.text
    assert _count(db_url, POS, uid) == 1
    with psycopg.connect(db_url) as c:
        attrs, speed = c.execute(
            "SELECT p.attrs, p.speed_mps FROM positions p JOIN devices d ON "
            "d.id=p.device_id WHERE d.uid=%s",
            (uid,),
        ).fetchone()
    assert "token" not in attrs  # the secret never lands in the data
    assert abs(speed - 10 * 1852 / 3600) < 1e-6  # knots in the query form


def test_osmand_json_with_bearer_token(listener, db_url) -> None:
    uid = _device(db_url, "phone")
    body = {
        "device_id": uid,
        "location": {
            "timestamp": "2026-11-02T10:00:00Z",
            "coords": {"latitude": 42.8, "longitude": 74.6, "speed": 3.0},
        },
    }
    r = httpx.post(_url(listener), json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert _count(db_url, POS, uid) == 1


def test_osmand_bad_token_401_bad_input_400(listener, db_url) -> None:
    uid = _device(db_url, "phone")
    q = {"id": uid, "lat": "42.87", "lon": "74.59", "timestamp": "1793520000"}
    assert httpx.get(_url(listener), params={**q, "token": "wrong"}).status_code == 401
    assert httpx.get(_url(listener), params=q).status_code == 401
    r = httpx.get(_url(listener), params={"lat": "1", "lon": "2", "token": TOKEN})
    assert r.status_code == 400 and "id" in r.text
    assert _count(db_url, POS, uid) == 0


def test_osmand_overloaded_503_retry_after(listener, db_url) -> None:
    uid = _device(db_url, "phone")
    locations = [
        {"timestamp": 1793520000 + i, "coords": {"latitude": 42.8, "longitude": 74.6}}
        for i in range(150)
    ]  # more than GEOMON_INGEST__QUEUE_MAX_ROWS=100
    r = httpx.post(
        _url(listener),
        json={"device_id": uid, "location": locations},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 503
    assert int(r.headers["retry-after"]) >= 1


def test_bcp_observations_http_and_alarm_event(listener, db_url) -> None:
    uid = _device(db_url, "sensor")
    body = [
        {
            "sensor": uid,
            "time": "2026-11-02T10:00:00Z",
            "kind": "radiation_alarm",
            "value": 4.2,
            "attributes": {"unit": "uSv/h"},
        },
        {"sensor": uid, "time": "2026-11-02T10:00:00Z", "kind": "vehicle_count", "value": 7},
    ]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert (
        httpx.post(_url(listener, "/observations"), json=body, headers=headers).status_code == 200
    )
    assert (
        httpx.post(_url(listener, "/observations"), json=body, headers=headers).status_code == 200
    )  # resend absorbed
    bad = httpx.post(
        _url(listener, "/observations"), json={"sensor": uid, "kind": "x"}, headers=headers
    )
    assert bad.status_code == 400
    assert _count(db_url, OBS, uid) == 2
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM events e JOIN devices d ON d.id=e.device_id "
            "WHERE d.uid=%s AND e.kind='sensor_alarm' AND e.severity='critical'",
            uid,
        )
        == 1
    )


def test_sensor_line_feed_tcp(listener, db_url) -> None:
    uid = _device(db_url, "sensor", token=False)
    lines = [
        json.dumps(
            {
                "sensor": uid,
                "time": 1793520000 + i,
                "kind": "intrusion",
                "attributes": {"zone": "fence-3"},
            }
        )
        for i in range(3)
    ]
    with socket.create_connection(listener.hostport("sensor-tcp")) as s:
        s.sendall(("\n".join(lines[:2]) + "\nnot json\n" + lines[2] + "\n").encode())
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
    for _ in range(50):
        if _count(db_url, OBS, uid) == 3:
            break
        time.sleep(0.1)
    assert _count(db_url, OBS, uid) == 3
    assert listener.metric("decode_errors") >= 1


def test_nmea_over_udp(listener, db_url) -> None:
    from datetime import UTC, datetime, timedelta

    from sensors.protocols.nmea_encode import gga, rmc

    uid = _device(db_url, "serial-gps", token=False)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(3):
            t = t0 + timedelta(seconds=i)
            for sentence in (rmc(t, 42.87, 74.6, 5.0, 90.0), gga(t, 42.87, 74.6, 800.0)):
                s.sendto(f"{uid},{sentence}\r\n".encode(), listener.hostport("nmea-udp"))
    for _ in range(50):
        if _count(db_url, POS, uid) == 3:
            break
        time.sleep(0.1)
    assert _count(db_url, POS, uid) == 3


def test_metrics_prometheus_text(listener) -> None:
    host, port = listener.hostport("osmand")
    r = httpx.get(f"http://{host}:{port}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "geomon_positions_committed_total" in r.text


def test_path_does_not_matter_for_osmand(listener, db_url) -> None:
    uid = _device(db_url, "phone")
    r = httpx.get(
        _url(listener, "/osmand"),
        params={"id": uid, "lat": "42", "lon": "74", "timestamp": "1793520000", "token": TOKEN},
    )
    assert r.status_code == 200


def test_cli_device_token_is_the_one_ingest_checks(listener, db_url, monkeypatch) -> None:
    """``geomon tokens create --device`` sets the token the listener checks (one token system),
    and the new token replaces the old one; it is refused by the API's user routes (gmd_)."""
    from typer.testing import CliRunner

    from geomon.cli import app as cli_app

    uid = _device(db_url, "phone")  # registered with TOKEN
    monkeypatch.setenv("GEOMON_DB__URL", db_url)
    result = CliRunner().invoke(cli_app, ["tokens", "create", "--device", uid])
    assert result.exit_code == 0, result.output
    new = result.output.strip().splitlines()[-1]
    assert new.startswith("gmd_") and len(new) > 40, result.output
    q = {"id": uid, "lat": "42.87", "lon": "74.59", "timestamp": "1793520000"}
    time.sleep(0.1)
    assert httpx.post(_url(listener), params={**q, "token": new}).status_code == 200
    assert _count(db_url, POS, uid) == 1
    # the listener caches a verified token per device for its registry TTL; a fresh device
    # shows the replacement at once: the token printed for it is the only one it accepts
    other = _device(db_url, "phone")
    result = CliRunner().invoke(cli_app, ["tokens", "create", "--device", other])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    q2 = {**q, "id": other}
    assert httpx.post(_url(listener), params={**q2, "token": TOKEN}).status_code == 401
    assert httpx.post(_url(listener), params={**q2, "token": token}).status_code == 200
    refused = CliRunner().invoke(
        cli_app, ["tokens", "create", "--device", other, "--ttl-days", "3"]
    )
    assert refused.exit_code != 0 and "--ttl-days" in refused.output
    missing = CliRunner().invoke(cli_app, ["tokens", "create", "--device", "NO-SUCH-" + uid])
    assert missing.exit_code != 0 and "no device" in missing.output
