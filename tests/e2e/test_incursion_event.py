"""End to end: a real ``geomon listen`` process, NMEA over TCP from the incursion team that
crosses AFG-TJK away from every crossing point → a critical border_cross event within seconds
(and a team crossing at Panji Poyon's crossing-point zone raises none)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from geomon.store.zones import crossing_point_zones
from sensors.protocols.nmea_encode import gga, rmc
from sensors.simulate_incursion import incursion_team
from tests.helpers.listener import run_listener


def _send(
    address: tuple[str, int], uid: str, points: list[tuple[float, float]], step_s: int = 1
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=step_s * len(points))
    with socket.create_connection(address, timeout=5) as sock:
        for i, (lat, lon) in enumerate(points):
            t = t0 + timedelta(seconds=step_s * i)
            for s in (rmc(t, lat, lon, 10.0, 0.0), gga(t, lat, lon, 400.0)):
                sock.sendall(f"{uid},{s}\r\n".encode())
        time.sleep(0.5)


def _events(db_url: str, uid: str) -> list[tuple[str, str, float]]:
    with psycopg.connect(db_url) as conn:
        return [
            (k, s, lag)
            for k, s, lag in conn.execute(
                "SELECT e.kind, e.severity, extract(epoch FROM e.created_at - p.received_at) "
                "FROM events e JOIN devices d ON d.id = e.device_id "
                "JOIN positions p ON p.device_id = e.device_id AND p.fix_time = e.occurred_at "
                "WHERE d.uid = %s",
                (uid,),
            ).fetchall()
        ]


def test_border_crossing_away_from_bcp_is_critical_within_seconds(
    db_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(db_url) as conn:
        crossing_point_zones(conn, 3000, agency="E2E-EV")  # shared with every agency
    team = incursion_team()
    (a_lat, a_lon), (b_lat, b_lon) = team.waypoints
    steps = 20
    across = [
        (a_lat + (b_lat - a_lat) * i / steps, a_lon + (b_lon - a_lon) * i / steps)
        for i in range(steps + 1)
    ]
    at_bcp = [(37.19 + 0.001 * i, 68.583) for i in range(20)]  # Panji Poyon, north-south
    uid, uid_bcp = f"INC-{uuid.uuid4().hex[:6]}", f"BCP-{uuid.uuid4().hex[:6]}"
    with run_listener(
        db_url, ["--nmea", "127.0.0.1:0"], tmp_path, env={"GEOMON_INGEST__ACCEPT_UNKNOWN": "true"}
    ) as lst:
        _send(lst.hostport("nmea"), uid, across, step_s=30)  # 300 m a fix, 10 m/s
        _send(lst.hostport("nmea"), uid_bcp, at_bcp)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _events(db_url, uid):
            time.sleep(0.2)
        time.sleep(1.0)
        got = _events(db_url, uid)
        got_bcp = _events(db_url, uid_bcp)
        log = lst.log_path.read_text()
    assert [(k, s) for k, s, _ in got] == [("border_cross", "critical")], log[-2000:]
    assert got[0][2] < 5.0  # seconds from receipt to event
    assert [k for k, _, _ in got_bcp if k == "border_cross"] == [], json.dumps(got_bcp)


def test_the_demo_incursion_simulator_raises_the_event(db_url: str, tmp_path: Path) -> None:
    import asyncio

    from sensors.simulate_incursion import run

    with run_listener(
        db_url, ["--nmea", "127.0.0.1:0"], tmp_path, env={"GEOMON_INGEST__ACCEPT_UNKNOWN": "true"}
    ) as lst:
        host, port = lst.hostport("nmea")
        sent = asyncio.run(
            # 120 m a fix (the jump filter allows 140 m in under a second): from 3 km on one
            # side to past the 2 km tolerance on the other within the run
            run(f"{host}:{port}", "AFG-TJK", rate_hz=8, speedup=80, duration_s=6, silent_after_s=1)
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _events(db_url, "INCURSION-01"):
            time.sleep(0.2)
    assert sent > 10
    assert ("border_cross", "critical") in {(k, s) for k, s, _ in _events(db_url, "INCURSION-01")}
