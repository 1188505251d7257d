"""Chaos: Teltonika trackers stream into a real ``geomon listen`` (2 worker processes) while
PostgreSQL is killed with SIGKILL (server and backends, then crash recovery) several times and
the listener's whole process group is killed with SIGKILL and started again, once while the
database is down (so the restarted listener must replay what the killed one spooled). Each
tracker records every ack per packet and resends unacked packets on a new connection, as
real trackers do; some acks are dropped on purpose (the tracker hangs up right after
sending). At the end every acknowledged record must be in ``positions`` exactly once, with
the coordinates that were sent, and nothing that was never sent is there.

Runs on its own throwaway cluster (tests/helpers/pgcluster.py), never the shared dev
cluster. The CI variant takes about a minute; the long one (``-m slow``, GEOMON_SLOW=1) runs
more trackers through more kills and longer outages:

    GEOMON_SLOW=1 GEOMON_GATE=0 scripts/test tests/e2e/test_chaos.py
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from geomon.store import migrate
from geomon.store.devices import add_device
from geomon.store.partitions import ensure_partitions
from sensors.protocols.teltonika_encode import Record, encode_codec8
from tests.conftest import free_port
from tests.helpers.listener import Listener, TeltonikaClient, kill_listener, start_listener
from tests.helpers.pgcluster import PgCluster

T0 = datetime(2026, 11, 4, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    trackers: int
    gap_s: float  # load between two faults
    db_down_s: float
    faults: tuple[
        str, ...
    ]  # "db": kill -9 PostgreSQL; "listener"; "both": listener during a DB outage


SHORT = Plan(8, 4.0, 1.5, ("db", "listener", "db", "both", "db"))
LONG = Plan(24, 8.0, 6.0, ("db", "listener", "db", "both", "db") * 3 + ("db",))


@dataclass
class Ack:
    seq: int
    records: int
    at: float  # time.monotonic() when the ack arrived


@dataclass
class Tracker:
    """A device thread: packets of 1-7 records, each resent (reconnecting) until acked."""

    address: tuple[str, int]
    imei: str
    index: int
    stop: threading.Event
    sent: dict[datetime, tuple[float, float]] = field(default_factory=dict)
    packet_of: dict[datetime, int] = field(default_factory=dict)
    acked: set[datetime] = field(default_factory=set)
    acks: list[Ack] = field(default_factory=list)
    resends: int = 0
    dropped_acks: int = 0

    def point(self, t: datetime) -> tuple[float, float]:
        """A plausible track (about 0.2 m/s; a jump would be dropped by the pipeline's
        plausibility stage after its ack, as it must be)."""
        k = (t - T0).total_seconds()
        return round(41.0 + self.index * 0.01 + 1e-6 * k, 7), round(70.0 + 1e-6 * k, 7)

    def run(self) -> None:
        client: TeltonikaClient | None = None
        seq = n_sent = 0
        while not self.stop.is_set():
            n = 1 + (seq * 5 + self.index) % 7
            times = [T0 + timedelta(seconds=n_sent + i) for i in range(n)]
            n_sent += n
            for t in times:
                self.sent[t] = self.point(t)
                self.packet_of[t] = seq
            packet = encode_codec8(
                [Record(t, *self.point(t), speed_kmh=30, satellites=9) for t in times]
            )
            first = True
            while not self.stop.is_set():
                try:
                    if client is None:
                        client = TeltonikaClient(self.address, self.imei, timeout_s=5)
                        if client.handshake() != b"\x01":
                            raise ConnectionError("handshake not accepted")
                    client.sock.sendall(packet)
                    if first and seq % 29 == 28:  # a lost ack: hang up before it comes
                        self.dropped_acks += 1
                        raise ConnectionError("ack dropped on purpose")
                    if client.ack(timeout_s=10) != n:
                        raise ConnectionError("no ack")
                    self.acked.update(times)
                    self.acks.append(Ack(seq, n, time.monotonic()))
                    break
                except OSError:
                    self.resends += 1
                    first = False
                    if client is not None:
                        client.close()
                    client = None
                    time.sleep(0.2)
            seq += 1
            time.sleep(0.02)
        if client is not None:
            client.close()


@pytest.fixture(scope="module")
def cluster() -> PgCluster:
    with PgCluster.create() as pg:
        yield pg


def _listener(url: str, port: int, tmp_path: Path) -> Listener:
    env = {
        "GEOMON_INGEST__SPOOL_AFTER_MS": "500",
        "GEOMON_INGEST__DB_PROBE_MS": "300",
    }
    args = ["--teltonika", f"127.0.0.1:{port}", "--workers", "2"]
    return start_listener(url, args, tmp_path, env=env)


def _spool_drained(spool: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not list(spool.rglob("spool-*.log")):
            return
        time.sleep(0.2)
    left = sorted(str(p.relative_to(spool)) for p in spool.rglob("spool-*.log"))
    raise AssertionError(f"spool not drained: {left}")


@pytest.mark.parametrize(
    "plan", [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.slow)]
)
def test_kill9_database_and_listener_lose_no_acked_record(
    cluster: PgCluster, plan: Plan, tmp_path: Path
) -> None:
    name = f"geomon_chaos_{len(plan.faults)}"
    url = cluster.create_database(name)
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_partitions(conn, months_ahead=2)
        imeis = [f"35300000000{i:04d}" for i in range(plan.trackers)]
        for imei in imeis:
            add_device(conn, uid=imei, kind="tracker", agency="CHAOS")
    port = free_port()
    lst = _listener(url, port, tmp_path)
    stop = threading.Event()
    trackers = [Tracker(("127.0.0.1", port), imei, i, stop) for i, imei in enumerate(imeis)]
    threads = [threading.Thread(target=t.run, daemon=True) for t in trackers]
    db_down: list[tuple[float, float]] = []
    killed = {"db": 0, "listener": 0}
    timeline: list[tuple[str, float]] = []
    t_start = time.monotonic()
    try:
        for th in threads:
            th.start()
        for fault in plan.faults:
            time.sleep(plan.gap_s)
            if fault in ("db", "both"):
                went = time.monotonic()
                cluster.kill9()
                timeline.append(("db killed", time.monotonic()))
                killed["db"] += 1
                time.sleep(plan.db_down_s)
            if fault in ("listener", "both"):
                kill_listener(lst.proc)
                timeline.append(("listener killed", time.monotonic()))
                killed["listener"] += 1
                lst = _listener(url, port, tmp_path)
                timeline.append(("listener up", time.monotonic()))
            if fault in ("db", "both"):
                cluster.start()
                timeline.append(("db up", time.monotonic()))
                db_down.append((went, time.monotonic()))
        time.sleep(plan.gap_s)
        stop.set()
        for th in threads:
            th.join(30)
        _spool_drained(tmp_path / "spool")
    finally:
        stop.set()
        kill_listener(lst.proc)
    acked = {(t.imei, ts) for t in trackers for ts in t.acked}
    sent = {(t.imei, ts): t.sent[ts] for t in trackers for ts in t.sent}
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT d.uid, p.fix_time, round(ST_Y(p.geom)::numeric, 7)::float8, "
            "round(ST_X(p.geom)::numeric, 7)::float8 "
            "FROM positions p JOIN devices d ON d.id = p.device_id"
        ).fetchall()
    stored = {(uid, ts): (lat, lon) for uid, ts, lat, lon in rows}
    lost = acked - stored.keys()
    acks_while_down = sum(
        1 for t in trackers for a in t.acks if any(w <= a.at <= b for w, b in db_down)
    )
    summary = (
        f"{len(acked)} records acked in {sum(len(t.acks) for t in trackers)} packets "
        f"({acks_while_down} while PostgreSQL was down), {len(rows)} rows stored, "
        f"{sum(t.resends for t in trackers)} resends, "
        f"{sum(t.dropped_acks for t in trackers)} acks dropped, {killed['db']} PostgreSQL and "
        f"{killed['listener']} listener SIGKILLs"
    )
    print(summary)
    if lost:  # when they were acked, against the fault timeline (seconds from the start)
        print("timeline:", [(what, round(at - t_start, 2)) for what, at in timeline])
        for tr in trackers:
            mine = sorted(ts for imei, ts in lost if imei == tr.imei)
            seqs = sorted({tr.packet_of[ts] for ts in mine})
            acks = [(a.seq, a.records, round(a.at - t_start, 2)) for a in tr.acks if a.seq in seqs]
            if mine:
                print(tr.imei, len(mine), "records of packets", acks)
    assert killed["db"] >= 3 and killed["listener"] >= 2
    assert len(acked) > 50 * plan.trackers, summary
    assert not lost, f"{len(lost)} acknowledged records lost ({sorted(lost)[:5]}…); {summary}"
    assert len(rows) == len(stored), f"{len(rows) - len(stored)} duplicates; {summary}"
    assert stored.keys() <= sent.keys(), "rows that no tracker sent"
    wrong = [
        k
        for k, (lat, lon) in stored.items()
        if max(abs(lat - sent[k][0]), abs(lon - sent[k][1])) > 1e-9
    ]
    assert not wrong, f"{len(wrong)} rows with other coordinates than sent: {wrong[:3]}"
    assert acks_while_down > 0, "no ack came through the spool: the outages were not ridden out"
