"""``geomon tak stream --once`` to a real TCP server: the agency's teams as friendly units and
its open critical events as markers, nothing of another agency, nothing resolved or stale;
each event parses as CoT (split by the same </event> framer our CoT listener uses)."""

from __future__ import annotations

import socket
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import psycopg
from typer.testing import CliRunner

from geomon.cli.tak import app
from geomon.store.devices import add_device, ensure_agency
from sensors.framing import CotFramer


def _receiver() -> tuple[int, list[bytes], threading.Thread]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got: list[bytes] = []

    def run() -> None:
        conn, _ = srv.accept()
        with conn:
            while data := conn.recv(65536):
                got.append(data)
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv.getsockname()[1], got, t


def test_stream_once_sends_the_agencys_picture(db_url: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        own, other = ensure_agency(conn, "KGZ-TAK"), ensure_agency(conn, "TJK-TAK")
        for uid, agency, lat, age in (
            ("tak-1", "KGZ-TAK", 40.1, 60),
            ("tak-2", "KGZ-TAK", 40.2, 60),
            ("tak-old", "KGZ-TAK", 40.3, 86400 * 3),
            ("tak-tj", "TJK-TAK", 38.5, 60),
        ):
            dev = add_device(conn, uid=uid, kind="phone", agency=agency, name=f"Team {uid}")
            conn.execute(
                "INSERT INTO device_latest (device_id, fix_time, received_at, geom, valid) "
                "VALUES (%s, %s, now(), ST_SetSRID(ST_MakePoint(72.8, %s), 4326), true)",
                (dev.id, now - timedelta(seconds=age), lat),
            )
        for agency, severity, state in (
            (own, "critical", "new"),
            (own, "critical", "resolved"),
            (own, "warning", "new"),
            (other, "critical", "new"),
        ):
            conn.execute(
                "INSERT INTO events (agency_id, kind, severity, state, occurred_at, geom) "
                "VALUES (%s, 'sensor_alarm', %s, %s, %s, ST_SetSRID(ST_MakePoint(72.9, 40.4), "
                "4326))",
                (agency, severity, state, now - timedelta(minutes=5)),
            )
        alarm = conn.execute(
            "SELECT id FROM events WHERE agency_id = %s AND severity = 'critical' "
            "AND state = 'new'",
            (own,),
        ).fetchone()[0]  # type: ignore[index]
    port, got, thread = _receiver()
    result = CliRunner().invoke(
        app,
        ["stream", "--to", f"127.0.0.1:{port}", "--agency", "KGZ-TAK", "--once"],
        env={"GEOMON_DB__URL": db_url},
    )
    assert result.exit_code == 0, result.output
    assert "sent 3 CoT events" in result.output
    thread.join(timeout=10)
    frames = CotFramer().feed(b"".join(got))
    events = [ET.fromstring(f[f.index(b"<event") :]) for f in frames]
    by_uid = {e.get("uid"): e for e in events}
    assert set(by_uid) == {"geomon-device-tak-1", "geomon-device-tak-2", f"geomon-event-{alarm}"}
    unit = by_uid["geomon-device-tak-1"]
    assert unit.get("type") == "a-f-G-U-C"
    assert unit.find("detail/contact").get("callsign") == "Team tak-1"  # type: ignore[union-attr]
    assert float(unit.find("point").get("lat")) == 40.1  # type: ignore[union-attr, arg-type]
    assert float(unit.find("point").get("ce")) == 9999999.0  # type: ignore[union-attr, arg-type]
    marker = by_uid[f"geomon-event-{alarm}"]
    assert marker.get("type") == "b-m-p-s-m"
    assert "sensor_alarm (new)" in (marker.find("detail/remarks").text or "")  # type: ignore[union-attr]


def test_stream_refuses_a_bad_target(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        ensure_agency(conn, "KGZ-TAK")
    env = {"GEOMON_DB__URL": db_url}
    r = CliRunner().invoke(app, ["stream", "--to", "nohost", "--agency", "KGZ-TAK"], env=env)
    assert r.exit_code != 0 and "HOST:PORT" in r.output
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = CliRunner().invoke(
        app, ["stream", "--to", f"127.0.0.1:{port}", "--agency", "KGZ-TAK", "--once"], env=env
    )
    assert r.exit_code != 0 and "cannot send" in r.output
