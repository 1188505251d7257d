"""End to end: a real ``geomon listen`` process, BCP plate reads over its TCP line feed; a
watch-listed plate raises a critical ``watchlist_hit`` at the post within 1 s (median of 10
reads; none past 3 s) — measured from sending the line to the NOTIFY that carries the hit
(sent on commit; the lag includes the test's own check of the ids) and to the webhook — a
low-confidence read one character off is a possible match, never an alarm, and a confident
one-off read, an absurd read and a removed entry raise nothing."""

from __future__ import annotations

import json
import select
import socket
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from geomon.store.devices import add_device, bind_device
from geomon.store.notifications import add_target
from tests.helpers.listener import run_listener

AGENCY = "KAZ-E2E-WL"
N_HITS = 10


class _Hook(BaseHTTPRequestHandler):
    got: list[tuple[float, dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append((time.monotonic(), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _line(uid: str, t: datetime, text: str, confidence: float) -> bytes:
    doc = {"sensor": uid, "time": t.isoformat(), "kind": "plate_read", "value": confidence,
           "text": text, "attributes": {"lane": 3, "direction": "in"}}  # fmt: skip
    return (json.dumps(doc) + "\n").encode()


def _wait_notify(conn: psycopg.Connection, timeout_s: float) -> list[int]:
    """Event ids from the next NOTIFY geomon_events (empty after timeout)."""
    gen = conn.notifies(timeout=timeout_s, stop_after=1)
    return [i for n in gen for i in json.loads(n.payload)["events"]]


def _wait_hit(listen: psycopg.Connection, db_url: str, uid: str, t: datetime) -> bool:
    """Wait for the NOTIFY that carries this read's hit (other tests' events, or the
    listener's plate checks over older reads, notify on the same channel)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ids = _wait_notify(listen, deadline - time.monotonic())
        if not ids:
            continue
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT 1 FROM events WHERE id = ANY(%s) AND kind = 'watchlist_hit' "
                "AND attrs->>'sensor' = %s AND occurred_at = %s",
                (ids, uid, t),
            ).fetchone()
        if row:
            return True
    return False


def _wait_hook(uid: str, t: datetime, timeout_s: float = 5) -> float | None:
    """When the webhook for this read's hit arrived (monotonic), or None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for at, body in list(_Hook.got):
            occurred = datetime.fromisoformat(str(body["occurred_at"]))
            if body["kind"] == "watchlist_hit" and body["attrs"]["sensor"] == uid and occurred == t:
                return at
        time.sleep(0.002)
    return None


def _events(db_url: str, uid: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT e.kind, e.severity, e.attrs->>'plate_norm', e.attrs->>'match', "
            "round(ST_Y(e.geom)::numeric, 4)::float8, round(ST_X(e.geom)::numeric, 4)::float8 "
            "FROM events e JOIN devices d ON d.id = e.device_id WHERE d.uid = %s ORDER BY e.id",
            (uid,),
        ).fetchall()


def test_watchlisted_plate_alarms_at_the_post_within_a_second(db_url: str, tmp_path: Path):
    tag = uuid.uuid4().hex[:4].upper()
    uid = f"KZ-NZH-ANPR-{tag}"
    plate = f"777{tag}01"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with psycopg.connect(db_url) as conn:
        add_device(conn, uid=uid, kind="sensor", agency=AGENCY)
        bind_device(conn, uid, place="Nur Zholy")
        agency_id = conn.execute("SELECT id FROM agencies WHERE code = %s", (AGENCY,)).fetchone()
        conn.execute(
            "INSERT INTO watchlist_entries (agency_id, plate, raw, near, priority, reason) "
            "VALUES (%s, %s, %s, %s, 'high', 'e2e'), (%s, %s, %s, '{}', 'low', 'removed')",
            (agency_id[0], plate, plate, [plate[:i] + plate[i + 1 :] for i in range(len(plate))],
             agency_id[0], f"555{tag}55", f"555{tag}55"),
        )  # fmt: skip
        conn.execute(
            "UPDATE watchlist_entries SET removed_at = now(), removed_by = 'e2e' WHERE plate = %s",
            (f"555{tag}55",),
        )
        add_target(conn, channel="webhook", url=f"http://127.0.0.1:{server.server_port}/h",
                   secret="s", agency=AGENCY, min_severity="info")  # fmt: skip
    args = ["--sensor-tcp", "127.0.0.1:0"]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    lags_notify, lags_hook = [], []
    with (
        run_listener(db_url, args, tmp_path) as lst,
        psycopg.connect(db_url, autocommit=True) as listen,
        socket.create_connection(lst.hostport("sensor-tcp"), timeout=5) as sock,
    ):
        listen.execute("LISTEN geomon_events")
        time.sleep(1.5)  # the notifier's own LISTEN is up
        for i in range(N_HITS):
            t = t0 + timedelta(seconds=i)
            sent = time.monotonic()
            sock.sendall(_line(uid, t, f"777 {tag} 01", 0.97))
            assert _wait_hit(listen, db_url, uid, t), lst.log_path.read_text()[-2000:]
            lags_notify.append(time.monotonic() - sent)
            hooked_at = _wait_hook(uid, t)
            assert hooked_at is not None, lst.log_path.read_text()[-2000:]
            lags_hook.append(hooked_at - sent)
        others = [
            (f"777{tag}02", 0.55),  # one character off, low confidence: possible match
            (f"777{tag}02", 0.99),  # one character off, confident: nothing
            (f"{plate}XXXXXXXXXXXXX", 0.40),  # absurd (over 20 characters): stored, never matched
            (f"555{tag}55", 0.99),  # a removed entry: nothing
        ]
        for j, (text, conf) in enumerate(others):
            sock.sendall(_line(uid, t0 + timedelta(seconds=30 + j), text, conf))
        time.sleep(1.5)
        while select.select([listen.pgconn.socket], [], [], 0)[0]:
            if not _wait_notify(listen, 0.1):
                break
    server.shutdown()
    got = _events(db_url, uid)
    hits = [e for e in got if e[0] == "watchlist_hit"]
    assert len(hits) == N_HITS
    assert {e[1:4] for e in hits} == {("critical", plate, "exact")}
    assert {(e[4], e[5]) for e in hits} == {(44.2234, 80.3852)}  # at Nur Zholy
    assert [e[:4] for e in got if e[0] != "watchlist_hit"] == [
        ("watchlist_possible", "warning", f"777{tag}02", "near")
    ]
    hooked = [b for _, b in _Hook.got]
    assert {b["kind"] for b in hooked} >= {"watchlist_hit"}
    assert all(b["attrs"]["entry_plate"] == plate for b in hooked)
    report = (
        f"watchlist hit, send→NOTIFY: median {statistics.median(lags_notify) * 1000:.0f} ms, "
        f"max {max(lags_notify) * 1000:.0f} ms; send→webhook: median "
        f"{statistics.median(lags_hook) * 1000:.0f} ms, max {max(lags_hook) * 1000:.0f} ms"
    )
    print(report)
    # medians: single reads can stall past 1 s when the 2 shared cores are loaded (~13)
    assert statistics.median(lags_notify) < 1.0 and statistics.median(lags_hook) < 1.0, report
    assert max(lags_notify) < 3.0 and max(lags_hook) < 3.0, report
