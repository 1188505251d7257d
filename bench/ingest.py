"""Ingest benchmark: many concurrent Teltonika TCP clients over loopback into a real
``geomon listen`` process and PostGIS, against a baseline measured in the same run.

    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/ingest.py [--clients 200]

1. Throughput: ``--clients`` devices, each sending Codec 8 packets of ``--records`` records
   as fast as their acks come back (a device sends its next packet only after the ack, as
   real trackers do), until ``--total`` positions are acknowledged, in ``--rounds`` rounds
   (the clients connect once, before the first round, and stay connected). Prints positions
   committed per second (acked = committed; checked against the table afterwards), and the
   CPU each part used in those rounds per position: the listener processes, their event
   processes, the PostgreSQL backends of the bench database, this load generator. The load
   generator shares the 2 cores with what it measures, so it is lean: packets are encoded
   before the rounds, and each client is a bare asyncio protocol on uvloop.
2. Baseline: the server-side rate of inserting the same number of rows into the same
   ``positions`` table (same partitions, indexes and row shape; rows of another 200
   registered devices) with INSERT … SELECT, one statement per round: before the first
   throughput round (after an uncounted warm-up), between rounds and after the last. The
   host's speed drifts (the 2 cores are shared), and interleaved, both rates sample the
   same drift. Prints the ratio end-to-end / baseline (goal ≥ 0.6).
3. Latency: 2,000 positions/s offered (open loop: every client sends on a fixed schedule)
   for ``--latency-s`` seconds; prints p50/p99 of send → ack (receive → commit → ack;
   goal p99 ≤ 500 ms).

A fresh database is created on the server of GEOMON_DB__URL and dropped at the end. Runs
vary with the host's other load (the baseline as much as the end-to-end rate): repeat them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geomon.store import databases, migrate  # noqa: E402
from geomon.store.partitions import ensure_partitions  # noqa: E402
from sensors.protocols.teltonika_encode import Record, encode_codec8, imei_frame  # noqa: E402

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _runner() -> asyncio.Runner:
    """The load generator runs on uvloop too: it shares the 2 cores with the system under
    test, so every cycle it saves goes to the listener and PostgreSQL. One loop for the whole
    run: the clients stay connected between rounds (the loop is idle during a baseline)."""
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def fresh_database(base: str) -> str:
    url = databases.create_database(base, "geomon_bench")
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_partitions(conn, months_ahead=2)
    return url


drop_database = databases.drop_database  # retries while listener workers close connections


def register(url: str, n: int) -> tuple[list[str], list[int]]:
    """``n`` devices for the clients, and ``n`` others for the baseline's rows (so that the
    baseline's fixes are not in the clients' tracks: no batch of theirs becomes a late one)."""
    imeis = [f"35{7000000000000 + i:013d}" for i in range(n)]
    others = [f"36{7000000000000 + i:013d}" for i in range(n)]
    with psycopg.connect(url) as conn:
        agency = conn.execute(
            "INSERT INTO agencies (code, name) VALUES ('BENCH', 'bench') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO devices (uid, kind, agency_id, name) "
            "SELECT u, 'tracker', %s, u FROM unnest(%s::text[]) u",
            (agency, imeis + others),
        )
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM devices WHERE uid = ANY(%s) ORDER BY id", (others,)
            )
        ]
    return imeis, ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_listener(
    url: str, spool: Path, workers: int
) -> tuple[subprocess.Popen[bytes], tuple[str, int]]:
    env = dict(os.environ, GEOMON_DB__URL=url, GEOMON_INGEST__SPOOL_DIR=str(spool))
    port = _free_port() if workers > 1 else 0
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "geomon.cli.__main__",
            "listen",
            "--teltonika",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.2)[0]:
            line = proc.stdout.readline().decode()
            if line.startswith("geomon listen:"):
                addr = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].split())
                host, _, port = addr["teltonika"].rpartition(":")
                return proc, (host, int(port))
    proc.kill()
    raise RuntimeError("listener did not start")


def packet(index: int, seq: int, n: int) -> bytes:
    base = T0 + timedelta(seconds=index % 997)
    return encode_codec8(
        [
            Record(
                base + timedelta(milliseconds=10 * (seq * n + k) + 7),
                42.0 + (index % 100) * 0.01 + k * 1e-5,
                74.0 + seq * 1e-5,
                800,
                90,
                9,
                50,
                io={239: 1, 240: 1, 21: 4, 66: 13800, 9: 120, 16: 123456},
            )
            for k in range(n)
        ]
    )


async def _device(
    address: tuple[str, int],
    imei: str,
    index: int,
    records: int,
    latencies: list[float],
    period_s: float,
    stop_at: float,
) -> int:
    """One tracker of the latency phase: a packet every ``period_s``, send → ack timed."""
    reader, writer = await asyncio.open_connection(*address)
    writer.write(imei_frame(imei))
    await writer.drain()
    assert await reader.readexactly(1) == b"\x01"
    acked = 0
    seq = 0
    next_send = time.perf_counter() + (index % 50) * period_s / 50
    while True:
        await asyncio.sleep(max(0.0, next_send - time.perf_counter()))
        next_send += period_s
        if time.perf_counter() >= stop_at:
            break
        sent_at = time.perf_counter()
        writer.write(packet(index, seq, records))
        await writer.drain()
        assert int.from_bytes(await reader.readexactly(4), "big") == records
        latencies.append(time.perf_counter() - sent_at)
        acked += records
        seq += 1
    writer.close()
    return acked


class _Device(asyncio.Protocol):
    """One tracker of the throughput phase as a bare protocol (no streams). It connects once
    and stays connected across rounds (a reconnect may land on the other listener process,
    whose event cache then reloads the device's track). In a round it sends its next packet
    whenever the previous one's ack arrives, while the round's shared budget lasts. The load
    generator shares the 2 cores with what it measures, and asyncio streams cost it ~3x the
    CPU per packet."""

    def __init__(self, imei: str, index: int, records: int, prepared: list[bytes]) -> None:
        self.imei, self.index, self.records, self.prepared = imei, index, records, prepared
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[int] = loop.create_future()
        self.budget = [0]
        self.buf = b""
        self.shaken = False
        self.acked = self.seq = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(imei_frame(self.imei))  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        if not self.shaken:
            if buf[:1] != b"\x01":
                self._fail(RuntimeError(f"IMEI {self.imei} refused: {buf[:1]!r}"))
                return
            self.shaken, buf = True, buf[1:]
            self.ready.set_result(None)
        while len(buf) >= 4:
            n, buf = int.from_bytes(buf[:4], "big"), buf[4:]
            if n != self.records:
                self._fail(RuntimeError(f"ack for {n} records, sent {self.records}"))
                return
            self.acked += n
            self._next()
        self.buf = buf

    def start(self, budget: list[int]) -> asyncio.Future[int]:
        """Begin a round drawing packets from ``budget``; the future gives the positions
        acked in it."""
        self.budget, self.acked = budget, 0
        self.done = asyncio.get_running_loop().create_future()
        self._next()
        return self.done

    def _next(self) -> None:
        if self.budget[0] <= 0:
            if not self.done.done():
                self.done.set_result(self.acked)
            return
        self.budget[0] -= 1
        seq, self.seq = self.seq, self.seq + 1
        self.transport.write(
            self.prepared[seq]
            if seq < len(self.prepared)  # type: ignore[union-attr]
            else packet(self.index, seq, self.records)
        )

    def _fail(self, exc: BaseException) -> None:
        for fut in (self.ready, self.done):
            if not fut.done():
                fut.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._fail(exc or ConnectionError("listener closed the connection"))


def encode_packets(n_devices: int, total: int, records: int) -> list[list[bytes]]:
    """Each device's packets for the throughput phase, encoded before it (and before its CPU
    is counted): the clients share the 2 cores with what they measure."""
    per_device = total // records // n_devices + 2
    return [[packet(i, seq, records) for seq in range(per_device)] for i in range(n_devices)]


async def connect(
    address: tuple[str, int], imeis: list[str], records: int, prepared: list[list[bytes]]
) -> list[_Device]:
    """Connect every client and wait for its handshake."""
    loop = asyncio.get_running_loop()
    devices = []
    for i, imei in enumerate(imeis):
        _, device = await loop.create_connection(
            lambda i=i, imei=imei: _Device(imei, i, records, prepared[i]), *address
        )
        devices.append(device)
    await asyncio.gather(*(d.ready for d in devices))
    return devices


async def throughput(devices: list[_Device], total: int) -> tuple[int, float]:
    """One round: ``total`` positions from the connected clients, timed."""
    budget = [total // devices[0].records]
    t0 = time.perf_counter()
    acked = await asyncio.gather(*[d.start(budget) for d in devices])
    return sum(acked), time.perf_counter() - t0


async def latency(
    address: tuple[str, int], imeis: list[str], rate: float, records: int, seconds: float
) -> tuple[list[float], int, float]:
    period = len(imeis) * records / rate  # each client's packet interval
    lat: list[float] = []
    t0 = time.perf_counter()
    stop_at = t0 + seconds
    done = await asyncio.gather(
        *(
            _device(address, imei, 10_000 + i, records, lat, period, stop_at)
            for i, imei in enumerate(imeis)
        )
    )
    return lat, sum(done), time.perf_counter() - t0


def baseline(url: str, n_rows: int, device_ids: list[int], start: datetime) -> float:
    """Seconds the server takes for one INSERT … SELECT of ``n_rows`` positions of
    ``device_ids``, 10 ms apart from ``start``."""
    q = """
    INSERT INTO positions (device_id, fix_time, received_at, geom, speed_mps, course_deg,
                           altitude_m, hdop, satellites, valid, protocol, attrs, raw)
    SELECT d.id, %(t0)s::timestamptz + make_interval(secs => g * 0.01),
           now(), ST_SetSRID(ST_MakePoint(74 + g * 1e-7, 42 + g * 1e-7), 4326),
           13.9, 90, 800, NULL, 9, true, 'teltonika',
           jsonb_build_object('priority', 0, 'event_io_id', 0, 'codec', 8,
                              'io', jsonb_build_object('239', 1, '240', 1, '21', 4,
                                                       '66', 13800, '9', 120, '16', 123456),
                              'ignition', true, 'movement', true, 'gsm_signal', 4,
                              'external_voltage_v', 13.8, 'total_odometer_m', 123456),
           NULL
    FROM generate_series(0, %(n)s - 1) g
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
          FROM unnest(%(ids)s::int[]) id) d ON d.k = g %% %(devs)s
    """
    with psycopg.connect(url) as conn:
        t = time.perf_counter()
        conn.execute(q, {"t0": start, "n": n_rows, "ids": device_ids, "devs": len(device_ids)})
        conn.commit()
        return time.perf_counter() - t


def cpu_seconds(listener_pgid: int, database: str) -> dict[str, float]:
    """CPU seconds so far of the listener processes and their event processes, of PostgreSQL
    backends serving ``database``, and of this process (the load generator); from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {
        "listener": 0.0,
        "event process": 0.0,
        "postgres": 0.0,
        "load generator": time.process_time(),
    }
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        used = (int(stat[11]) + int(stat[12])) / tick
        if int(stat[2]) == listener_pgid:
            out["event process" if "event_process" in cmd else "listener"] += used
        elif cmd.startswith("postgres: ") and f" {database} " in cmd:
            out["postgres"] += used
    return out


def stored(url: str, imeis: list[str]) -> int:
    """Rows stored for the clients' devices."""
    with psycopg.connect(url) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM positions p JOIN devices d "
                "ON d.id = p.device_id WHERE d.uid = ANY(%s)",
                (imeis,),
            ).fetchone()[0]
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--records", type=int, default=10, help="records per packet")
    ap.add_argument("--total", type=int, default=200_000)
    ap.add_argument(
        "--rounds", type=int, default=4, help="end-to-end rounds, each between two baseline rounds"
    )
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--latency-s", type=float, default=15.0)
    ap.add_argument(
        "--workers",
        type=int,
        default=2,
        help="listener processes (SO_REUSEPORT; the listener default on 2+ cores)",
    )
    args = ap.parse_args()
    base = os.environ.get("GEOMON_DB__URL") or sys.exit("set GEOMON_DB__URL")
    url = fresh_database(base)
    proc = None
    runner = _runner()
    try:
        imeis, baseline_ids = register(url, args.clients)
        n_rows = args.total // args.records * args.records
        proc, address = start_listener(
            url, Path("/tmp") / f"bench-spool-{uuid.uuid4().hex[:6]}", args.workers
        )
        time.sleep(1.0 * (args.workers > 1))  # the extra workers bind their sockets
        dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        prepared = encode_packets(len(imeis), args.total, args.records)
        devices = runner.run(connect(address, imeis, args.records, prepared))
        chunk = n_rows // args.rounds
        starts = (
            T0 + timedelta(hours=48, seconds=k * (chunk * 0.01 + 3600))
            for k in range(args.rounds + 2)
        )
        baseline(url, chunk // 2, baseline_ids, next(starts))  # warm-up, not counted
        # rounds of baseline, end-to-end, baseline, …, baseline: the host's speed drifts (the
        # 2 cores are shared), and interleaved, both rates sample the same drift
        raw_s: list[float] = []
        rounds: list[tuple[int, float]] = []
        cpu = dict.fromkeys(cpu_seconds(proc.pid, str(dbname)), 0.0)
        for k in range(args.rounds + 1):
            raw_s.append(baseline(url, chunk, baseline_ids, next(starts)))
            if k == args.rounds:
                break
            cpu0 = cpu_seconds(proc.pid, str(dbname))
            rounds.append(runner.run(throughput(devices, chunk)))
            cpu1 = cpu_seconds(proc.pid, str(dbname))
            for part in cpu:
                cpu[part] += cpu1[part] - cpu0[part]
        acked = sum(a for a, _ in rounds)
        elapsed = sum(t for _, t in rounds)
        e2e = acked / elapsed
        raw = chunk * len(raw_s) / sum(raw_s)
        in_db = stored(url, imeis)
        print(
            f"end-to-end: {acked} positions acked in {elapsed:.2f} s = {e2e:,.0f} positions/s "
            f"({args.clients} clients, {args.records} records/packet, {args.workers} listener "
            f"process(es); {in_db} rows stored; rounds: "
            + ", ".join(f"{a / t:,.0f}" for a, t in rounds)
            + ")",
            flush=True,
        )
        print(
            "  CPU over those rounds (2 cores = 2 s per second): "
            + ", ".join(
                f"{k} {v:.1f} s = {v / acked * 1e6:.0f} µs/position" for k, v in cpu.items()
            ),
            flush=True,
        )
        print(
            f"baseline: INSERT … SELECT of {chunk} rows into positions (other devices, same "
            f"table), before, between and after those rounds: {raw:,.0f} rows/s (rounds: "
            + ", ".join(f"{chunk / t:,.0f}" for t in raw_s)
            + ")"
        )
        print(f"ratio end-to-end / baseline = {e2e / raw:.2f} (goal >= 0.6)", flush=True)
        for d in devices:
            d.transport.close()  # type: ignore[union-attr]
        lat, n, secs = runner.run(latency(address, imeis, args.rate, 1, args.latency_s))
        lat.sort()
        p99 = lat[int(0.99 * (len(lat) - 1))] * 1000
        print(
            f"latency at {args.rate:,.0f} positions/s offered ({n / secs:,.0f} achieved, "
            f"1 record/packet, {len(lat)} packets): p50 {statistics.median(lat) * 1000:.0f} ms,"
            f" p99 {p99:.0f} ms, max {lat[-1] * 1000:.0f} ms (goal p99 <= 500 ms)"
        )
    finally:
        runner.close()
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)  # the listener and its workers
            proc.wait(10)
            time.sleep(1)
        drop_database(base, url)


if __name__ == "__main__":
    main()
