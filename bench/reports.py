"""The weekly BLO report of one crossing point at archive scale, against the raw SQL
aggregates of the same figures in the same run.

    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/reports.py \
        [--cases 500000] [--positions 10000000] [--reps 3]

Creates its own database on the server of GEOMON_DB__URL (dropped at the end unless
``--keep``): the reference places, ``--cases`` cases over 2025-2026 in 66-80° E, 36.5-43.5° N
(one in 20 within 25 km of Dostuk), events (one per 5 cases), and ``--positions`` fixes of
devices moving once a minute for 30 days from 2026-11-02 around their own centres (one device
in 10 around Dostuk), through the real ``positions`` table and its ``track_days`` trigger.

Times, median of ``--reps``:

- **ours**: ``geomon.reports.service.blo_weekly`` for Dostuk, week 2026-W48 in Bishkek, as a
  viewer of the owning agency (row-level security on), i.e. every query of the report
  (cases and events over six windows, observations, patrol fixes, the map's points);
- **raw**: the same figures by the plain SQL one would write by hand, as the owner (no RLS):
  cases by category/substance and events by kind/severity in the area over the same six
  windows (the box ``&&`` for the GiST index, then ``ST_DWithin``), patrol devices, fixes and
  distance straight from ``positions`` by time range and area;
- **pdf**: drawing the map and charts and writing the PDF of the computed report.

Prints the times, ours / raw, and the load average before and after. Goal (issue 18):
the report ≤ 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geomon.reference import read_places  # noqa: E402
from geomon.reports import service  # noqa: E402
from geomon.reports.blo import Week  # noqa: E402
from geomon.store import databases, migrate  # noqa: E402
from geomon.store import reports as report_store  # noqa: E402
from geomon.store.devices import ensure_agency  # noqa: E402
from geomon.store.partitions import ensure_month  # noqa: E402
from geomon.store.reference import upsert_places  # noqa: E402

DOSTUK = (72.79850, 40.52828)
T0 = datetime(2026, 11, 2, tzinfo=UTC)
DAYS, PER_DAY = 30, 1440
READER = service.Reader("ru", "Asia/Bishkek")
WEEK = "2026-W48"

CASES = """
INSERT INTO cases (agency_id, source, external_id, category, substance, quantity_kg, unit,
                   occurred_at, geom)
SELECT %(a)s, 'bench', 'B-' || g,
       CASE WHEN g %% 10 < 7 THEN 'drug_seizure' WHEN g %% 10 < 9 THEN 'detention'
            ELSE 'smuggled_goods' END,
       CASE WHEN g %% 10 < 7 THEN (ARRAY['heroin','opium','cannabis_resin','cannabis_herb',
            'methamphetamine'])[1 + g %% 5] END,
       CASE WHEN g %% 10 < 7 THEN (g %% 997) / 10.0 END,
       CASE WHEN g %% 10 < 7 THEN 'kg' END,
       timestamptz '2025-01-01' + (g::bigint * 1000003 %% 63072000) * interval '1 second',
       CASE WHEN g %% 20 = 0
            THEN ST_SetSRID(ST_MakePoint(%(x)s + ((g * 31) %% 400 - 200) / 1000.0,
                                         %(y)s + ((g * 17) %% 300 - 150) / 1000.0), 4326)
            ELSE ST_SetSRID(ST_MakePoint(66 + (g * 7907 %% 14000) / 1000.0,
                                         36.5 + (g * 104723 %% 7000) / 1000.0), 4326) END
FROM generate_series(1::bigint, %(n)s) g
"""
EVENTS = """
INSERT INTO events (agency_id, kind, severity, occurred_at, geom)
SELECT %(a)s, (ARRAY['zone_enter','zone_exit','border_cross','overspeed','silent'])[1 + g %% 5],
       (ARRAY['info','warning','critical'])[1 + g %% 3],
       timestamptz '2025-01-01' + (g::bigint * 998497 %% 63072000) * interval '1 second',
       CASE WHEN g %% 20 = 0
            THEN ST_SetSRID(ST_MakePoint(%(x)s + ((g * 13) %% 300 - 150) / 1000.0, %(y)s), 4326)
            ELSE ST_SetSRID(ST_MakePoint(66 + (g * 7907 %% 14000) / 1000.0,
                                         36.5 + (g * 104723 %% 7000) / 1000.0), 4326) END
FROM generate_series(1::bigint, %(n)s) g
"""
POSITIONS = """
INSERT INTO positions (device_id, fix_time, geom, speed_mps, valid)
SELECT d.id, %(t)s::timestamptz + k * interval '1 minute',
       ST_SetSRID(ST_MakePoint(d.cx + 0.15 * sin((%(day)s * 1440 + k) / 200.0 + d.b),
                               d.cy + 0.15 * cos((%(day)s * 1440 + k) / 170.0 + d.b)), 4326),
       8, true
FROM (SELECT id, b, CASE WHEN b %% 10 = 1 THEN %(x)s ELSE 66 + (b * 7919 %% 1400) / 100.0 END cx,
             CASE WHEN b %% 10 = 1 THEN %(y)s ELSE 36.5 + (b * 104729 %% 700) / 100.0 END cy
      FROM (SELECT id, substr(uid, 7)::int b FROM devices WHERE uid LIKE 'bench-%%') s) d,
     generate_series(0, %(n)s - 1) k
"""


def load(url: str, n_cases: int, n_positions: int) -> tuple[int, float]:
    x, y = DOSTUK
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        for m in (date(2026, 11, 1), date(2026, 12, 1)):
            ensure_month(c, m)
        upsert_places(c, read_places(ROOT / "data" / "reference" / "places_central_asia.csv"))
        agency = ensure_agency(c, "BENCH-KG")
        c.execute("UPDATE agencies SET country = 'KGZ' WHERE id = %s", (agency,))
        c.execute(CASES, {"a": agency, "n": n_cases, "x": x, "y": y})
        c.execute(EVENTS, {"a": agency, "n": n_cases // 5, "x": x, "y": y})
        devices = max(1, n_positions // (DAYS * PER_DAY))
        c.execute(
            "INSERT INTO devices (uid, kind, agency_id, name) SELECT 'bench-' || i, 'tracker', "
            "%s, 'Патруль ' || i FROM generate_series(1, %s) i",
            (agency, devices),
        )
        for day in range(DAYS):
            c.execute(POSITIONS, {"t": T0 + timedelta(days=day), "day": day, "n": PER_DAY,
                                  "x": x, "y": y})  # fmt: skip
        for table in ("cases", "events", "positions", "track_days", "devices"):
            c.execute(f"VACUUM ANALYZE {table}")
    return agency, time.perf_counter() - t


async def ours(url: str, agency: int) -> tuple[float, service.Report]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await report_store.set_context(conn, agency_id=agency, role="viewer", user="bench")
        t = time.perf_counter()
        report = await service.blo_weekly(conn, "Dostuk", WEEK, READER)
        took = time.perf_counter() - t
        await conn.rollback()
    return took, report


RAW_CASES = """
SELECT w.i, c.category, c.substance, count(*), sum(c.quantity_kg)
FROM unnest(%(i)s::int[], %(t0)s::timestamptz[], %(t1)s::timestamptz[]) w(i, t0, t1)
JOIN cases c ON c.occurred_at >= w.t0 AND c.occurred_at < w.t1
WHERE c.deleted_at IS NULL AND c.geom && %(box)s::geometry
  AND ST_DWithin(c.geom::geography, %(p)s::geography, 25000)
GROUP BY 1, 2, 3
"""
RAW_EVENTS = """
SELECT w.i, e.kind, e.severity, count(*)
FROM unnest(%(i)s::int[], %(t0)s::timestamptz[], %(t1)s::timestamptz[]) w(i, t0, t1)
JOIN events e ON e.occurred_at >= w.t0 AND e.occurred_at < w.t1
WHERE e.geom && %(box)s::geometry AND ST_DWithin(e.geom::geography, %(p)s::geography, 25000)
GROUP BY 1, 2, 3
"""
RAW_PATROL = """
SELECT count(DISTINCT device_id), count(*), sum(d) FROM (
  SELECT device_id, ST_Distance(geom::geography,
         lag(geom::geography) OVER (PARTITION BY device_id ORDER BY fix_time)) d
  FROM positions WHERE valid AND fix_time >= %(a)s AND fix_time < %(b)s
   AND geom && %(box)s::geometry AND ST_DWithin(geom::geography, %(p)s::geography, 25000)) s
"""


def raw(url: str) -> tuple[float, tuple[object, ...]]:
    w = Week.parse(WEEK, READER.time_zone)
    i, t0, t1 = w.windows()
    point = f"SRID=4326;POINT({DOSTUK[0]} {DOSTUK[1]})"
    x0, y0, x1, y1 = report_store.Area(*DOSTUK, 25_000).box
    box = f"SRID=4326;POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"
    with psycopg.connect(url) as c:
        t = time.perf_counter()
        cases = c.execute(
            RAW_CASES, {"i": i, "t0": t0, "t1": t1, "p": point, "box": box}
        ).fetchall()
        events = c.execute(
            RAW_EVENTS, {"i": i, "t0": t0, "t1": t1, "p": point, "box": box}
        ).fetchall()
        patrol = c.execute(
            RAW_PATROL, {"a": w.start(0), "b": w.start(-1), "p": point, "box": box}
        ).fetchone()
        took = time.perf_counter() - t
    return took, (len(cases), len(events), patrol)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=500_000)
    ap.add_argument("--positions", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="Keep the database (print its URL).")
    ap.add_argument("--reuse", help="URL of a database kept by --keep: measure, do not load.")
    args = ap.parse_args()
    base = os.environ["GEOMON_DB__URL"]
    url = args.reuse or databases.create_database(base, "geomon_bench_reports")
    print(f"load average before: {os.getloadavg()}")
    try:
        if args.reuse:
            with psycopg.connect(url) as c:
                row = c.execute("SELECT id FROM agencies WHERE code = 'BENCH-KG'").fetchone()
            agency, took = int(row[0]), 0.0
        else:
            migrate.upgrade(url)
            agency, took = load(url, args.cases, args.positions)
        with psycopg.connect(url) as c:
            n = c.execute("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM events), "
                          "(SELECT count(*) FROM positions)").fetchone()  # fmt: skip
        print(f"loaded {n[0]:,} cases, {n[1]:,} events, {n[2]:,} positions in {took:.0f} s")
        runs, raws, pdfs = [], [], []
        for _ in range(args.reps):
            t, report = asyncio.run(ours(url, agency))
            runs.append(t)
            r, figures = raw(url)
            raws.append(r)
            t = time.perf_counter()
            service._draw_and_render(report, "pdf", [])
            pdfs.append(time.perf_counter() - t)
        patrol = next(t for t in report.tables if t.key == "patrol")
        seizures = next(t for t in report.tables if t.key == "seizures")
        fixes = sum(int(r[1]) for r in patrol.rows)
        km = sum(float(r[2]) for r in patrol.rows)
        print(f"report: {sum(int(r[2]) for r in seizures.rows)} cases this week in the area; "
              f"patrol {len(patrol.rows)} devices, {fixes} fixes, {km:.1f} km; raw (case groups, "
              f"event groups, (devices, fixes, m)) {figures}")  # fmt: skip
        m_ours, m_raw, m_pdf = (statistics.median(v) for v in (runs, raws, pdfs))
        print(f"ours (RLS, every query of the report): {m_ours * 1000:.0f} ms  "
              f"runs {[round(v * 1000) for v in runs]}")  # fmt: skip
        print(f"raw SQL aggregates (owner, no RLS):     {m_raw * 1000:.0f} ms  "
              f"runs {[round(v * 1000) for v in raws]}")  # fmt: skip
        print(f"ours / raw: {m_ours / m_raw:.2f}")
        print(f"PDF (map, charts, tables): {m_pdf * 1000:.0f} ms")
    finally:
        print(f"load average after: {os.getloadavg()}")
        if args.keep or args.reuse:
            print(f"kept {url}")
        else:
            databases.drop_database(base, url)


if __name__ == "__main__":
    main()
