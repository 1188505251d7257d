"""Benchmark: a plate's journey through the API against the raw indexed SQL for the same rows.

    .venv/bin/python bench/journeys.py [--reads 2000000] [--plate-reads 10000] [--repeat 30]

A fresh database on the dev cluster (scripts/dev-db), migrated, with ``--reads`` plate reads
of 200,000 random plates from 50 cameras at 50 posts over a year, plus ``--plate-reads``
reads of one plate spread over the same year (the issue's scale is 50 million reads; this
machine's 2 shared cores make that a multi-hour load, so the table is smaller — the query is
an index range scan on (plate_norm, observed_at) whose cost depends on the plate's reads,
not on the table's size). Then ``--repeat`` times each, interleaved:

- journey: ``GET /api/v1/vehicles/{plate}/journey?since&until&limit=10000`` through the app
  (a viewer's token, row-level security, the visits and legs, JSON, the audit row);
- raw: the same rows by the same indexed SQL as the owner, fetched to Python.

Prints p50/p95 of both and the p95 ratio (goal ≤ 1.5). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomon.store import migrate  # noqa: E402
from geomon.store.journeys import _READS  # noqa: E402

AGENCY = "KAZ-JBENCH"
PLATE = "777KZA02"
SINCE, UNTIL = "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z"

_FILL = """
INSERT INTO observations (sensor_id, observed_at, kind, value, text, geom, plate_norm)
SELECT d.id, %(t0)s::timestamptz + (g * 364.0 / %(n)s) * interval '1 day'
         + (g %% 997) * interval '1 second',
       'plate_read', 0.95, p, d.geom, p
FROM generate_series(1, %(n)s) g
CROSS JOIN LATERAL (SELECT lpad(((g * 7919) %% 200000)::text, 6, '0') || 'AB' AS p) pl
JOIN devices d ON d.uid = 'JB-' || lpad((g %% 50)::text, 2, '0')
"""


def seed(url: str, reads: int, plate_reads: int) -> None:
    from geomon.store.devices import add_device, ensure_agency

    with psycopg.connect(url) as conn:
        ensure_agency(conn, AGENCY)
        for i in range(50):
            add_device(conn, uid=f"JB-{i:02d}", kind="sensor", agency=AGENCY)
            conn.execute(
                "UPDATE devices SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326) WHERE uid = %s",
                (68 + i * 0.25, 38 + (i % 7) * 0.8, f"JB-{i:02d}"),
            )
        conn.commit()
        t0 = time.perf_counter()
        conn.execute(_FILL, {"t0": "2026-01-01", "n": reads})
        conn.execute(
            "INSERT INTO observations (sensor_id, observed_at, kind, value, text, geom, "
            "plate_norm) SELECT d.id, '2026-01-01'::timestamptz + g * interval '52 minutes' "
            "+ interval '7 seconds', 'plate_read', 0.9, %s, d.geom, %s "
            "FROM generate_series(1, %s) g JOIN devices d ON d.uid = 'JB-' || "
            "lpad((g %% 50)::text, 2, '0')",
            (PLATE, PLATE, plate_reads),
        )
        conn.commit()
        print(f"loaded {reads + plate_reads:,} reads in {time.perf_counter() - t0:.0f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE observations")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reads", type=int, default=2_000_000)
    ap.add_argument("--plate-reads", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from api.app import create_app
    from geomon.settings import DbSettings, Settings
    from tests.conftest import create_database, drop_database
    from tests.helpers.auth import make_user

    base = subprocess.check_output([str(ROOT / "scripts" / "dev-db"), "url"], text=True).strip()
    url = create_database(base, f"geomon_bench_{uuid.uuid4().hex[:6]}")
    try:
        migrate.upgrade(url)
        seed(url, args.reads, args.plate_reads)
        token = make_user(url, role="viewer", agency=AGENCY)[2]
        settings = Settings(db=DbSettings(url=url), data_dir=Path(tempfile.mkdtemp()))
        params = {"since": SINCE, "until": UNTIL, "limit": 10_000}
        api_s, raw_s = [], []
        with TestClient(create_app(settings)) as client, psycopg.connect(url) as conn:
            headers = {"Authorization": f"Bearer {token}"}
            raw = {"plate": PLATE, "since": SINCE, "until": UNTIL, "limit": 10_001}
            for i in range(args.repeat + 2):
                t0 = time.perf_counter()
                r = client.get(f"/api/v1/vehicles/{PLATE}/journey", params=params,
                               headers=headers)  # fmt: skip
                t1 = time.perf_counter()
                rows = conn.execute(_READS, raw).fetchall()
                t2 = time.perf_counter()
                assert r.status_code == 200, r.text
                if i >= 2:  # two warm-ups
                    api_s.append(t1 - t0)
                    raw_s.append(t2 - t1)
            n = len(r.json()["reads"])
            assert n == len(rows) == min(args.plate_reads, 10_000), (n, len(rows))

        def p95(xs: list[float]) -> float:
            return statistics.quantiles(xs, n=20)[-1]

        print(f"journey of {n:,} reads: API p50 {statistics.median(api_s) * 1000:.0f} ms, "
              f"p95 {p95(api_s) * 1000:.0f} ms; raw SQL p50 "
              f"{statistics.median(raw_s) * 1000:.0f} ms, p95 {p95(raw_s) * 1000:.0f} ms; "
              f"p95 ratio {p95(api_s) / p95(raw_s):.2f} (goal <= 1.5)")  # fmt: skip
    finally:
        drop_database(base, url)


if __name__ == "__main__":
    main()
