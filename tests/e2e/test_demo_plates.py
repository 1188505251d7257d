"""The demo's plate story end to end: ``geomon demo-data``'s cameras and watch-listed plate,
the plate camera simulator over a real listener's TCP sensor feed → a critical
``watchlist_hit`` at Khorgos - Nur Zholy, a possible match for the misread, and the clone
at Kordai raised by the listener's plate checks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg

from geomon.cli.demo import _demo_plate_cameras, _demo_watchlist
from geomon.demo import PLATE_CAMERAS, WATCHED_PLATE
from geomon.store.devices import ensure_agency
from sensors.simulate_plates import run
from tests.helpers.listener import run_listener


def _kinds(db_url: str) -> dict[str, set[tuple[str, str]]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT e.kind, e.severity, coalesce(p.name, '') FROM events e "
            "JOIN devices d ON d.id = e.device_id LEFT JOIN places p ON p.id = d.place_id "
            "WHERE d.uid = ANY(%s)",
            ([uid for uid, _, _ in PLATE_CAMERAS],),
        ).fetchall()
    out: dict[str, set[tuple[str, str]]] = {}
    for kind, severity, place in rows:
        out.setdefault(kind, set()).add((severity, place))
    return out


def test_simulated_cameras_read_the_watched_plate(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        ensure_agency(conn, "KAZ-BS")
        _demo_plate_cameras(conn)
    assert _demo_watchlist(db_url) == _demo_watchlist(db_url)  # idempotent
    env = {"GEOMON_PLATES__CHECK_EVERY_S": "0.5"}
    with run_listener(db_url, ["--sensor-tcp", "127.0.0.1:0"], tmp_path, env=env) as lst:
        host, port = lst.hostport("sensor-tcp")
        sent = asyncio.run(run(f"{host}:{port}", every_s=0.05, watched_every=6, duration_s=3))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "plate_cloned" not in _kinds(db_url):
            time.sleep(0.3)
    kinds = _kinds(db_url)
    assert sent > 20
    assert ("critical", "Khorgos - Nur Zholy road BCP") in kinds["watchlist_hit"]
    assert kinds["watchlist_possible"] <= {("warning", "Khorgos - Nur Zholy road BCP")}
    assert ("critical", "Kordai / Ak-Jol road BCP") in kinds["plate_cloned"]
    with psycopg.connect(db_url) as conn:
        n = conn.execute(
            "SELECT count(*) FROM observations WHERE plate_norm = %s",
            (WATCHED_PLATE.replace(" ", ""),),
        ).fetchone()
    assert n is not None and n[0] >= 4
