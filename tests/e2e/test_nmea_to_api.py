"""The thin path end to end: NMEA sentences over a real TCP connection → PostGIS →
GET /api/v1/devices/latest."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from geomon.store.devices import add_device
from sensors.protocols.nmea_encode import gga, rmc
from tests.e2e.conftest import Server


def _latest(server: Server) -> dict[str, dict]:
    resp = httpx.get(f"{server.base_url}/api/v1/devices/latest", headers=server.auth, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/geo+json")
    body = resp.json()
    assert body["type"] == "FeatureCollection"
    return {f["properties"]["uid"]: f for f in body["features"]}


def _wait_for(server: Server, uid: str, predicate, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        feature = _latest(server).get(uid)
        if feature is not None and predicate(feature):
            return feature
        time.sleep(0.2)
    raise AssertionError(f"{uid} did not reach the API within {timeout} s")


def test_fixes_sent_over_tcp_appear_in_latest(server: Server, conn: psycopg.Connection) -> None:
    add_device(conn, uid="E2E-1", kind="serial-gps", agency="KGZ-BS", name="Team Osh")
    conn.commit()
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    bad = rmc(t, 40.5, 72.8, 10.0, 90.0)
    bad = bad[:-2] + ("00" if bad[-2:] != "00" else "01")  # corrupt the checksum
    lines = [
        f"E2E-1,{bad}",
        f"E2E-1,{rmc(t, 40.53, 72.80, 10.0, 45.0)}",
        f"E2E-1,{gga(t, 40.53, 72.80, 1010.0)}",
        f"E2E-1,{rmc(t + timedelta(seconds=1), 40.5301, 72.8001, 11.0, 45.0)}",
        f"E2E-1,{gga(t + timedelta(seconds=1), 40.5301, 72.8001, 1011.0)}",
    ]
    with socket.create_connection(server.nmea, timeout=5) as s:
        s.sendall(("\r\n".join(lines) + "\r\n").encode())
        feature = _wait_for(
            server,
            "E2E-1",
            lambda f: f["properties"]["fix_time"].startswith(
                (t + timedelta(seconds=1)).isoformat()[:19]
            ),
        )
        # the connection survived the bad sentence: send one more epoch on it
        t2 = t + timedelta(seconds=2)
        s.sendall(f"E2E-1,{rmc(t2, 40.5302, 72.8002, 12.0, 45.0)}\r\n".encode())
        feature = _wait_for(server, "E2E-1", lambda f: f["properties"]["speed_mps"] > 11.5)
    props = feature["properties"]
    assert props["name"] == "Team Osh" and props["agency"] == "KGZ-BS"
    lon, lat = feature["geometry"]["coordinates"]
    assert abs(lat - 40.5302) < 1e-5 and abs(lon - 72.8002) < 1e-5
    assert abs(props["course_deg"] - 45.0) < 1e-6
    rows = conn.execute(
        "SELECT count(*) FROM positions p JOIN devices d ON d.id = p.device_id "
        "WHERE d.uid = 'E2E-1'"
    ).fetchone()
    assert rows == (3,)


def test_unknown_device_is_not_stored(server: Server, conn: psycopg.Connection) -> None:
    t = datetime.now(UTC).replace(microsecond=0)
    with socket.create_connection(server.nmea, timeout=5) as s:
        s.sendall(f"NOBODY-9,{rmc(t, 40.0, 70.0, 1.0, 0.0)}\r\n".encode())
    time.sleep(1.0)
    assert "NOBODY-9" not in _latest(server)
    assert conn.execute("SELECT count(*) FROM devices WHERE uid = 'NOBODY-9'").fetchone() == (0,)


def test_health_reports_database(server: Server) -> None:
    body = httpx.get(f"{server.base_url}/health", timeout=5).json()
    assert body["status"] == "ok" and body["database"] == "reachable"


def test_map_references_no_external_url(server: Server) -> None:
    import re

    html = httpx.get(f"{server.base_url}/map", headers=server.auth, timeout=10).text
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
    assert any("leaflet.js" in r for r in refs)
    external = [r for r in refs if re.match(r"^(https?:)?//", r)]
    assert external == []
    # no tile server and no URL of another origin anywhere in scripts
    assert not re.search(
        r"https?://(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}/[^\s\"']*\{z\}", html
    )
    for ref in refs:
        if ref.startswith("/static/"):
            assert httpx.get(f"{server.base_url}{ref}", timeout=5).status_code == 200, ref
