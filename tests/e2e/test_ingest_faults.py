"""Faults against real processes: PostgreSQL restarted in immediate mode several times while
Teltonika trackers stream into a real listener → every acknowledged record is in the
database exactly once (the spool covers the outages). Runs on a throwaway cluster
(tests/helpers/pgcluster.py), never on the shared dev cluster."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from geomon.store import migrate
from geomon.store.devices import add_device
from geomon.store.partitions import ensure_partitions
from sensors.protocols.teltonika_encode import Record, encode_codec8
from tests.helpers.listener import TeltonikaClient, run_listener
from tests.helpers.pgcluster import PgCluster

T0 = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cluster_db() -> tuple[PgCluster, str]:
    with PgCluster.create() as pg:
        url = pg.create_database("geomon_fault")
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_partitions(conn, months_ahead=2)
        yield pg, url


class Tracker(threading.Thread):
    """A device that resends a packet until it is acked (reconnecting as needed)."""

    def __init__(self, address: tuple[str, int], imei: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.address, self.imei, self.stop = address, imei, stop
        self.acked: set[datetime] = set()
        self.resends = 0

    def run(self) -> None:
        k = 0
        client = None
        while not self.stop.is_set():
            times = [T0 + timedelta(seconds=5 * (5 * k + i)) for i in range(5)]
            packet = encode_codec8(
                [Record(t, 41.0 + 1e-4 * (t - T0).seconds / 5, 70.0, speed_kmh=20) for t in times]
            )
            while not self.stop.is_set():
                try:
                    if client is None:
                        client = TeltonikaClient(self.address, self.imei, timeout_s=5)
                        if client.handshake() != b"\x01":
                            raise ConnectionError("handshake refused")
                    client.sock.sendall(packet)
                    if client.ack(timeout_s=15) == 5:
                        self.acked.update(times)
                        break
                    raise ConnectionError("no ack")
                except OSError:
                    self.resends += 1
                    if client is not None:
                        client.close()
                    client = None
                    time.sleep(0.3)
            k += 1
            time.sleep(0.05)
        if client is not None:
            client.close()


def test_postgres_immediate_restarts_lose_nothing_acked(cluster_db, tmp_path: Path) -> None:
    pg, url = cluster_db
    imeis = [f"3520000000000{i:02d}" for i in range(6)]
    with psycopg.connect(url) as conn:
        for imei in imeis:
            add_device(conn, uid=imei, kind="tracker", agency="FAULT")
    env = {"GEOMON_INGEST__SPOOL_AFTER_MS": "500", "GEOMON_INGEST__DB_PROBE_MS": "300"}
    with run_listener(url, ["--teltonika", "127.0.0.1:0"], tmp_path, env=env) as lst:
        stop = threading.Event()
        trackers = [Tracker(lst.hostport("teltonika"), i, stop) for i in imeis]
        for t in trackers:
            t.start()
        for _ in range(3):
            time.sleep(2.0)
            pg.restart(mode="immediate", down_s=1.0)
        time.sleep(2.0)
        stop.set()
        for t in trackers:
            t.join(30)
        spooled = lst.metric("spooled_rows")
        _wait_for_spool_drained(tmp_path / "spool")
    acked = {(t.imei, ts) for t in trackers for ts in t.acked}
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT d.uid, p.fix_time FROM positions p JOIN devices d ON d.id = p.device_id"
        ).fetchall()
    stored = {(uid, ts) for uid, ts in rows}
    assert len(acked) > 100
    assert acked <= stored, f"{len(acked - stored)} acknowledged records lost"
    assert len(rows) == len(stored)  # no duplicates
    assert spooled > 0  # the outages were really ridden out through the spool


def _wait_for_spool_drained(spool: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not list(spool.glob("spool-*.log")):
            return
        time.sleep(0.2)
    raise AssertionError("spool not drained")
