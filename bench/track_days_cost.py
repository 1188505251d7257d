"""What the track_days trigger (migration 0030) costs at ingest: the same INSERT … SELECT into
``positions`` with the trigger enabled and disabled, interleaved, in the same run.

    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/track_days_cost.py [--rounds 5]

Each round inserts ``--rows`` rows (the row shape of bench/ingest.py's baseline: 200 devices,
10 ms apart) once with the trigger and once without (alternating which goes first), into a
fresh database (dropped at the end). Prints rows/s of both per round, the median ratio
with / without, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geomon.store import databases, migrate  # noqa: E402
from geomon.store.partitions import ensure_month  # noqa: E402

T0 = datetime(2026, 11, 2, tzinfo=UTC)
INSERT = """
INSERT INTO positions (device_id, fix_time, received_at, geom, speed_mps, course_deg,
                       altitude_m, hdop, satellites, valid, protocol, attrs, raw)
SELECT d.id, %(t0)s::timestamptz + make_interval(secs => g * 0.01),
       now(), ST_SetSRID(ST_MakePoint(74 + g * 1e-7, 42 + g * 1e-7), 4326),
       13.9, 90, 800, NULL, 9, true, 'teltonika',
       jsonb_build_object('priority', 0, 'codec', 8, 'ignition', true), NULL
FROM generate_series(0, %(n)s - 1) g
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
      FROM unnest(%(ids)s::int[]) id) d ON d.k = g %% %(devs)s
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    base = os.environ["GEOMON_DB__URL"]
    print(f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    url = databases.create_database(base, "geomon_bench")
    try:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as c:
            ensure_month(c, date(2026, 11, 1))
            (agency,) = c.execute(
                "INSERT INTO agencies (code, name) VALUES ('BENCH', 'bench') RETURNING id"
            ).fetchone()  # type: ignore[misc]
            ids = [
                r[0]
                for r in c.execute(
                    "INSERT INTO devices (uid, kind, agency_id, name) SELECT 'cost-' || i, "
                    "'tracker', %s, 'bench' FROM generate_series(1, 200) i RETURNING id",
                    (agency,),
                ).fetchall()
            ]
        span = timedelta(seconds=args.rows * 0.01 + 60)
        k = 0
        with_t: list[float] = []
        without_t: list[float] = []

        def run(trigger: bool) -> float:
            nonlocal k
            with psycopg.connect(url) as c:
                state = "ENABLE" if trigger else "DISABLE"
                c.execute(f"ALTER TABLE positions {state} TRIGGER positions_track_days_insert")
                c.commit()
                t = time.perf_counter()
                c.execute(
                    INSERT, {"t0": T0 + k * span, "n": args.rows, "ids": ids, "devs": len(ids)}
                )
                c.commit()
                dt = time.perf_counter() - t
            k += 1
            return args.rows / dt

        run(True)  # warm-up, not counted
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            for trig in order:
                (with_t if trig else without_t).append(run(trig))
            print(
                f"round {i + 1}: with trigger {with_t[-1]:8,.0f} rows/s   "
                f"without {without_t[-1]:8,.0f} rows/s   {with_t[-1] / without_t[-1]:5.3f}",
                flush=True,
            )
        ratios = [a / b for a, b in zip(with_t, without_t, strict=True)]
        print(
            f"median with/without {statistics.median(ratios):.3f} "
            f"(with {statistics.median(with_t):,.0f} rows/s, "
            f"without {statistics.median(without_t):,.0f} rows/s); "
            f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}"
        )
    finally:
        databases.drop_database(base, url)


if __name__ == "__main__":
    main()
