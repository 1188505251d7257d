"""OGC ``tracks`` pages at 1 M and 10 M positions: the pages through ``track_days``
(migration 0030) against the query before it (every valid fix aggregated, then filtered),
measured in the same run on the same data.

    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/tracks.py [--big 10000000]

Data: devices moving once a minute for 30 days (1,440 fixes per device-day) around their own
centre in 66-80° E, 36-44° N; ``--small`` then ``--big`` positions (devices are added between
the two, so the 1 M → 10 M growth is in devices, as a region grows). Pages of 100 features
(the console's and QGIS's size) for a bbox with data (0.5° around a device's centre), an
empty bbox (inside the region's longitude band, north of it) and no bbox, over 1, 3 and 30
days; median of ``--reps`` runs each, the old query once (it takes seconds, up to its
``--old-timeout``). Prints per page the new and old times, their ratio, an EXPLAIN
(ANALYZE, BUFFERS) summary of the new page, and at the end the 10 M / 1 M growth per page.

A fresh database is created on the server of GEOMON_DB__URL and dropped at the end (unless
``--keep``). Runs as the database owner (row-level security is tested in
tests/db/test_track_pages.py; the app role adds the same per-row policy to both queries).
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
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geomon.store import databases, features, migrate  # noqa: E402
from geomon.store.partitions import ensure_month  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)
FIXES_PER_DAY = 1440
DAYS = 30
LIMIT = 100

# The tracks source before migration 0030 (geomon/store/features.py at 617d03b..e3b4900).
OLD_SOURCE = (
    "SELECT p.device_id, (p.fix_time AT TIME ZONE 'UTC')::date AS day, "
    "ST_MakeLine(p.geom ORDER BY p.fix_time) geom, min(p.fix_time) t0, max(p.fix_time) t1, "
    "count(*) n_fixes, min(p.fix_time) first_fix, max(p.fix_time) last_fix FROM positions p "
    "WHERE p.valid AND p.fix_time >= date_trunc('day', %(t_start)s::timestamptz AT TIME ZONE "
    "'UTC') AT TIME ZONE 'UTC' AND p.fix_time < (date_trunc('day', %(t_end)s::timestamptz AT "
    "TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC' GROUP BY 1, 2"
)


def old_query(bbox: tuple[float, float, float, float] | None) -> str:
    env = "ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"
    spatial = f"s.geom && {env} AND ST_Intersects(s.geom, {env}) AND " if bbox else ""
    return (
        "SELECT s.device_id, s.day, json_build_object('type', 'Feature', 'id', "
        "concat_ws('_', s.device_id, s.day), 'geometry', ST_AsGeoJSON(s.geom, 7)::json, "
        "'properties', json_build_object('device_id', s.device_id, 'day', s.day, 'n_fixes', "
        "s.n_fixes, 'first_fix', s.first_fix, 'last_fix', s.last_fix))::text "
        f"FROM ({OLD_SOURCE}) s "
        f"WHERE {spatial}s.t1 >= %(t_start)s AND s.t0 <= %(t_end)s "
        "ORDER BY s.device_id, s.day LIMIT %(lim)s"
    )


def centre(i: int) -> tuple[float, float]:
    return 66 + (i * 7919 % 1400) / 100.0, 36 + (i * 104729 % 800) / 100.0


def load(url: str, agency: int, first: int, n_devices: int) -> float:
    """Devices first .. first + n_devices - 1 (bench numbering) with 30 days of fixes."""
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            "INSERT INTO devices (uid, kind, agency_id, name) SELECT 'trk-' || i, 'tracker', "
            "%s, 'bench' FROM generate_series(%s::int, %s::int) i",
            (agency, first, first + n_devices - 1),
        )
        for day in range(DAYS):
            c.execute(
                "INSERT INTO positions (device_id, fix_time, geom, valid) "
                "SELECT d.id, %(t)s::timestamptz + k * interval '1 minute', "
                "ST_SetSRID(ST_MakePoint("
                "66 + (b * 7919 %% 1400) / 100.0 + 0.3 * sin((%(day)s * 1440 + k) / 200.0 + b), "
                "36 + (b * 104729 %% 800) / 100.0 + 0.3 * cos((%(day)s * 1440 + k) / 170.0 + b)), "
                "4326), true FROM (SELECT id, substr(uid, 5)::int b FROM devices "
                "WHERE uid LIKE 'trk-%%' AND substr(uid, 5)::int BETWEEN %(f)s AND %(l)s) d, "
                "generate_series(0, %(n)s - 1) k",
                {
                    "t": T0 + timedelta(days=day),
                    "day": day,
                    "f": first,
                    "l": first + n_devices - 1,
                    "n": FIXES_PER_DAY,
                },
            )
        c.execute("VACUUM ANALYZE positions")
        c.execute("VACUUM ANALYZE track_days")
    return time.perf_counter() - t


def cases() -> list[tuple[str, tuple[float, float, float, float] | None, int]]:
    x, y = centre(1)
    with_data = (x - 0.5, y - 0.5, x + 0.5, y + 0.5)
    empty = (70.0, 45.0, 71.0, 46.0)
    out: list[tuple[str, tuple[float, float, float, float] | None, int]] = []
    for days in (1, 3, 30):
        out += [
            (f"bbox with data, {days} d", with_data, days),
            (f"empty bbox, {days} d", empty, days),
            (f"no bbox, {days} d", None, days),
        ]
    return out


def window(days: int) -> tuple[datetime, datetime]:
    start = T0 + timedelta(days=10, hours=6) if days < DAYS else T0
    return start, start + timedelta(days=days) - timedelta(seconds=1)


async def new_page(
    conn: psycopg.AsyncConnection, bbox: tuple[float, float, float, float] | None, days: int
) -> tuple[float, int]:
    start, end = window(days)
    q = features.ItemQuery(bboxes=(bbox,) if bbox else (), start=start, end=end, limit=LIMIT)
    t = time.perf_counter()
    page = await features.read_items(conn, features.STATIC["tracks"], q, count=False)
    await conn.commit()
    return time.perf_counter() - t, len(page.features)


def old_params(bbox: tuple[float, float, float, float] | None, days: int) -> dict[str, Any]:
    start, end = window(days)
    x0, y0, x1, y1 = bbox or (None, None, None, None)
    return {
        "t_start": start,
        "t_end": end,
        "x0": x0,
        "y0": y0,
        "x1": x1,
        "y1": y1,
        "lim": LIMIT + 1,
    }


def explain_summary(url: str, bbox: tuple[float, float, float, float] | None, days: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the new page's SQL: node types, rows, buffers."""
    start, end = window(days)
    q = features.ItemQuery(bboxes=(bbox,) if bbox else (), start=start, end=end, limit=LIMIT)
    sql_text, params = features.items_sql(features.STATIC["tracks"], q)
    with psycopg.connect(url) as c:
        c.execute("SET LOCAL jit = off")
        plan = c.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql_text, params).fetchone()
    root = plan[0][0]["Plan"]  # type: ignore[index]
    nodes: list[str] = []

    def walk(n: dict[str, Any], depth: int) -> None:
        if depth <= 3:
            name = n["Node Type"] + (f" on {n['Relation Name']}" if "Relation Name" in n else "")
            if "Index Name" in n:
                name += f" using {n['Index Name']}"
            nodes.append(f"{name} (rows={n['Actual Rows']}x{n['Actual Loops']})")
        for ch in n.get("Plans", []):
            walk(ch, depth + 1)

    walk(root, 0)
    hits = root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0)
    return f"buffers={hits}; " + " > ".join(nodes[:8])


async def measure(
    url: str, reps: int, old_timeout: float, label: str
) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    # not autocommit: read_items' SET LOCAL (no JIT) needs the transaction the API has
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for name, bbox, days in cases():
            await new_page(conn, bbox, days)  # warm
            times = []
            n = 0
            for _ in range(reps):
                dt, n = await new_page(conn, bbox, days)
                times.append(dt)
            new = statistics.median(times)
            await conn.execute(f"SET statement_timeout = {int(old_timeout * 1000)}")
            t = time.perf_counter()
            try:
                cur = await conn.execute(old_query(bbox), old_params(bbox, days))
                n_old = len(await cur.fetchall()) - 0
                old: float | None = time.perf_counter() - t
            except psycopg.errors.QueryCanceled:
                old, n_old = None, -1
            await conn.rollback()
            await conn.execute("SET statement_timeout = 0")
            ratio = f"{old / new:7.1f}x faster" if old else f"old > {old_timeout:.0f} s"
            old_s = f"{old * 1000:8.1f}" if old else "   (timeout)"
            print(
                f"  {label} {name:<22} new {new * 1000:7.1f} ms ({n:3d} features)  "
                f"old {old_s} ms ({min(n_old, LIMIT) if n_old >= 0 else '?'})  {ratio}",
                flush=True,
            )
            print(f"      plan: {explain_summary(url, bbox, days)}", flush=True)
            out[name] = (new, n)
    return out


def extent_times(url: str, label: str) -> None:
    """/ogc/collections/tracks's extent: now from track_days, before a scan of every fix."""

    async def run() -> float:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            t = time.perf_counter()
            await features.extent(conn, features.STATIC["tracks"])
            return time.perf_counter() - t

    new = statistics.median(asyncio.run(run()) for _ in range(3))
    with psycopg.connect(url) as c:
        t = time.perf_counter()
        c.execute("SELECT ST_Extent(geom) FROM positions WHERE valid").fetchone()
        old = time.perf_counter() - t
    print(
        f"  {label} collection extent      new {new * 1000:7.1f} ms  old {old * 1000:8.1f} ms"
        f"  {old / new:7.1f}x faster",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--old-timeout", type=float, default=40.0)
    ap.add_argument("--keep", action="store_true")
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
        per_dev = FIXES_PER_DAY * DAYS
        n_small = max(1, args.small // per_dev)
        n_big = max(n_small, args.big // per_dev)
        results = {}
        done = 0
        for label, n_dev in (("1M", n_small), ("10M", n_big)):
            dt = load(url, agency, done + 1, n_dev - done)
            done = n_dev
            print(
                f"{label}: {n_dev} devices, {n_dev * per_dev:,} positions, "
                f"{n_dev * DAYS} track days (loaded in {dt:.0f} s); "
                f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}",
                flush=True,
            )
            results[label] = asyncio.run(measure(url, args.reps, args.old_timeout, label))
            extent_times(url, label)
        print(
            "growth 1M -> 10M (new pages; goal <= 1.2x and <= 150 ms); the data grows in "
            "devices, so a bbox holds more lines at 10 M: also per feature returned"
        )
        for name in results["1M"]:
            (a, na), (b, nb) = results["1M"][name], results["10M"][name]
            per = (
                f"per feature {a / na * 1000:6.2f} -> {b / nb * 1000:6.2f} ms "
                f"{(b / nb) / (a / na):5.2f}x"
                if na and nb
                else ""
            )
            print(
                f"  {name:<22} {a * 1000:7.1f} -> {b * 1000:7.1f} ms  {b / a:5.2f}x  "
                f"({na} -> {nb} features) {per}"
            )
        print(f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}")
    finally:
        if not args.keep:
            databases.drop_database(base, url)


if __name__ == "__main__":
    main()
