"""Benchmark: watch-list matching at ingest, against a 100,000-entry list.

    .venv/bin/python bench/plates.py [--entries 100000] [--patterns 100] [--reads 40000]
                                     [--lanes 50] [--batch 20] [--rounds 3]

A fresh database on the dev cluster (scripts/dev-db), migrated, with ``--entries`` exact
watch-list entries and ``--patterns`` patterns of one agency, and ``--lanes`` plate cameras
at one post. Reads are random plates, ``--hit-rate`` of them on the list (default 0.1 %),
twice as many one character off it at low confidence, a quarter of all reads below the
near-miss confidence (so the near-miss index is searched for them), the rest unknown.

1. Ingest rate with matching on vs off: the real batch writer (geomon.pipeline.writer), the
   lanes submitting ``--batch`` reads at a time concurrently, until ``--reads`` reads are
   committed; the two modes alternate for ``--rounds`` rounds each (the 2 shared cores
   drift; alternating samples the same drift). Prints reads/s of both and the ratio on/off
   (goal ≥ 0.8).
2. Matching cost per read: :func:`geomon.store.watchlist_matching.match_plate_reads` on
   batches of ``--batch`` stored reads, in a transaction rolled back afterwards, against the
   cost of storing the same reads (write_observations with matching off, also rolled back).
   Prints µs per read of both and the ratio, with and without the near-miss search (at
   100,000 random entries in a 26 M plate space, a low-confidence random read is one
   character off some entry about once in seven: each is a possible-match event to write).

The database is dropped at the end. The figures are for this machine at this moment: rerun.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomon import watchlists as domain  # noqa: E402
from geomon.model import Observation  # noqa: E402
from geomon.pipeline.writer import BatchWriter  # noqa: E402
from geomon.settings import IngestSettings  # noqa: E402
from geomon.store import migrate  # noqa: E402
from geomon.store.observations import observation_row, write_observations  # noqa: E402
from geomon.store.watchlist_matching import match_plate_reads  # noqa: E402

AGENCY = "KAZ-BENCH"
_LETTERS = "ABCEHKMOPTXY"


def plate(rng: random.Random) -> str:
    return f"{rng.randint(100, 999)}{''.join(rng.choices(_LETTERS, k=3))}{rng.randint(1, 17):02d}"


def one_off(p: str, rng: random.Random) -> str:
    i = rng.randrange(len(p))
    pool = string.digits if p[i].isdigit() else _LETTERS
    return p[:i] + rng.choice([c for c in pool if c != p[i]]) + p[i + 1 :]


def seed_db(url: str, n_entries: int, n_patterns: int, lanes: int, rng: random.Random):
    listed = sorted({plate(rng) for _ in range(n_entries)})
    entries = [domain.make_entry({"plate": p}) for p in listed]
    entries += [domain.make_entry({"plate": f"{rng.randint(100, 999)}*{rng.choice(_LETTERS)}"})
                for _ in range(n_patterns)]  # fmt: skip

    async def go() -> None:
        from geomon.store import watchlists as store
        from geomon.store.devices import agency_id_for

        async with await psycopg.AsyncConnection.connect(url) as conn:
            agency = await agency_id_for(conn, AGENCY)
            assert agency is not None
            await store.add_entries(conn, entries, agency_id=agency, added_by="bench")
            await conn.commit()

    with psycopg.connect(url) as conn:
        from geomon.store.devices import add_device, ensure_agency

        ensure_agency(conn, AGENCY)
        for i in range(lanes):
            add_device(conn, uid=f"ANPR-{i:02d}", kind="sensor", agency=AGENCY)
        conn.execute("UPDATE devices SET geom = ST_SetSRID(ST_MakePoint(80.38, 44.22), 4326)")
    asyncio.run(go())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE watchlist_entries")
        conn.execute("ANALYZE watchlist_near")
    return listed


class Reads:
    """Reads in arrival order: distinct (sensor, time) keys, a fixed mix of hits and misses."""

    def __init__(self, listed: list[str], lanes: int, rng: random.Random, hit: float) -> None:
        self.listed, self.lanes, self.rng, self.hit = listed, lanes, rng, hit
        self.t = datetime.now(UTC) - timedelta(days=1)
        self.hits = 0

    def next(self, lane: int) -> Observation:
        rng = self.rng
        self.t += timedelta(milliseconds=3)
        u = rng.random()
        conf = rng.uniform(0.5, 0.89) if rng.random() < 0.25 else rng.uniform(0.9, 0.99)
        if u < self.hit:
            text, conf = rng.choice(self.listed), 0.97
            self.hits += 1
        elif u < 3 * self.hit:
            text, conf = one_off(rng.choice(self.listed), rng), 0.6
        else:
            text = plate(rng)
        return Observation(f"ANPR-{lane:02d}", self.t, "plate_read", value=conf, text=text)


async def ingest_round(url: str, reads: Reads, n: int, lanes: int, batch: int, on: bool) -> float:
    settings = IngestSettings(
        spool_dir=Path(tempfile.mkdtemp(prefix="bench-plates-")), watchlist_matching=on,
    )  # fmt: skip
    w = BatchWriter(url, settings)
    await w.start()
    per_lane = n // lanes // batch

    async def lane(i: int) -> int:
        done = 0
        for _ in range(per_lane):
            done += await w.submit_observations([reads.next(i) for _ in range(batch)])
        return done

    t0 = time.perf_counter()
    got = sum(await asyncio.gather(*(lane(i) for i in range(lanes))))
    dt = time.perf_counter() - t0
    await w.stop()
    return got / dt


async def cost_per_read(
    url: str, reads: Reads, batches: int, batch: int, near_below: float
) -> tuple[float, float]:
    """(µs a read to store, µs a read to match), both on the same rows, rolled back."""
    store_s = match_s = 0.0
    n = 0
    async with await psycopg.AsyncConnection.connect(url) as conn:
        ids = {r[1]: r[0] for r in await (await conn.execute("SELECT id, uid FROM devices"))
               .fetchall()}  # fmt: skip
        for b in range(batches):
            obs = [reads.next(b % reads.lanes) for _ in range(batch)]
            rows = [observation_row(ids[o.sensor_uid], o, datetime.now(UTC)) for o in obs]
            t0 = time.perf_counter()
            await write_observations(conn, rows, match_watchlists=False)
            t1 = time.perf_counter()
            conf = {o.observed_at: o.value for o in obs}
            cur = await conn.execute(
                "SELECT id, observed_at FROM observations "
                "WHERE observed_at >= %s AND observed_at <= %s",
                (obs[0].observed_at, obs[-1].observed_at),
            )
            new = [(int(r[0]), conf.get(r[1])) for r in await cur.fetchall()]
            t2 = time.perf_counter()
            await match_plate_reads(conn, new, near_below=near_below)
            t3 = time.perf_counter()
            await conn.rollback()
            store_s, match_s, n = store_s + (t1 - t0), match_s + (t3 - t2), n + len(new)
    return store_s / n * 1e6, match_s / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--patterns", type=int, default=100)
    ap.add_argument("--reads", type=int, default=40_000)
    ap.add_argument("--lanes", type=int, default=50)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hit-rate", type=float, default=0.001, help="Share of reads on the list.")
    ap.add_argument("--keep", action="store_true", help="Keep the database (prints its URL).")
    args = ap.parse_args()
    from tests.conftest import create_database, drop_database

    base = subprocess.check_output([str(ROOT / "scripts" / "dev-db"), "url"], text=True).strip()
    url = create_database(base, f"geomon_bench_{uuid.uuid4().hex[:6]}")
    rng = random.Random(17)
    try:
        migrate.upgrade(url)
        t0 = time.perf_counter()
        listed = seed_db(url, args.entries, args.patterns, args.lanes, rng)
        print(f"watch-list: {len(listed)} exact entries + {args.patterns} patterns "
              f"({time.perf_counter() - t0:.1f} s to load)")  # fmt: skip
        reads = Reads(listed, args.lanes, rng, args.hit_rate)
        asyncio.run(ingest_round(url, reads, 2000, args.lanes, args.batch, True))  # warm-up
        rates: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.rounds):
            for on in (True, False):
                rates[on].append(asyncio.run(
                    ingest_round(url, reads, args.reads, args.lanes, args.batch, on)))  # fmt: skip
        on, off = statistics.median(rates[True]), statistics.median(rates[False])
        print(f"ingest, {args.lanes} lanes x {args.batch} reads a submit: matching on "
              f"{on:,.0f} reads/s, off {off:,.0f} reads/s (medians of {args.rounds}); "
              f"ratio on/off {on / off:.2f} (goal >= 0.8)")  # fmt: skip
        with psycopg.connect(url) as conn:
            hits = conn.execute("SELECT count(*) FILTER (WHERE kind = 'watchlist_hit'), "
                                "count(*) FILTER (WHERE kind = 'watchlist_possible') "
                                "FROM events").fetchone()  # fmt: skip
        print(f"  events raised: {hits[0]} hits, {hits[1]} possible matches")
        for below, what in ((domain.NEAR_MISS_BELOW_CONFIDENCE, "with"), (0.0, "without")):
            store_us, match_us = asyncio.run(cost_per_read(url, reads, 200, args.batch, below))
            print(f"per read, batches of {args.batch}, {what} near misses: store "
                  f"{store_us:.0f} µs, match {match_us:.0f} µs; ratio match/store "
                  f"{match_us / store_us:.2f}")  # fmt: skip
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            drop_database(base, url)


if __name__ == "__main__":
    main()
