"""Benchmark: the API under 50 concurrent clients, and one busy tile against raw ST_AsMVT.

    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/api.py [--seconds 20]
        [--workers 1,2] [--client raw|httpx] [--keep | --reuse URL]

Creates a fresh database on the server of GEOMON_DB__URL (dropped at the end unless --keep;
--reuse runs against a kept one), migrates it, loads the reference layers and fills it with
generate_series SQL: 1,000,000 positions of 200 devices over 30 days, 20,000 incidents, 300
zones, 10,000 events and a 5,000-cell hotspot run. Starts the API as ``geomon serve`` does (one
uvicorn process, or N workers each with its own SO_REUSEPORT socket) on a free loopback port
and runs 50 concurrent clients for a fixed time, each requesting OGC items pages and vector
tiles at random; prints p50/p99 latency, requests/s and errors (goal p99 <= 300 ms, 0 errors),
a per-route table (p50/p99/max, errors, audited reads) and the spread of per-client medians
(a worker that took most connections shows as two groups). Then, for one busy tile (tracks, z8
over the Fergana valley), times our endpoint uncached (the layer's change counter is bumped
before every request) against the raw ST_AsMVT SQL of the same tile under the same
row-level-security context, in the same run (goal ratio <= 1.3), and the cached endpoint
(goal <= 5 ms).

The load generator: by default bench/rawhttp.py, a lean HTTP/1.1 keep-alive client (one
connection per client, same request line and headers incl. Accept-Encoding: gzip, body read
whole but not decoded). The first version used httpx.AsyncClient, which spent ~8 ms of CPU per
request on this 2-core host -- more than the API server -- and so measured the client as much
as the server; ``--client httpx`` still runs it for comparison. Figures from the two clients
are not comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import mercantile
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.middleware import AUDITED_READ  # noqa: E402
from bench.rawhttp import RawClient, RawHTTPError  # noqa: E402
from geomon.credentials import USER_TOKEN_PREFIX, hash_password, new_token, token_digest  # noqa: E402
from geomon.reference import read_features, read_places  # noqa: E402
from geomon.store import databases, migrate  # noqa: E402
from geomon.store.partitions import ensure_partitions  # noqa: E402
from geomon.store.reference import upsert_borders, upsert_countries, upsert_places  # noqa: E402
from geomon.store.tiles import LAYERS, tile_sql  # noqa: E402
from geomon.store.users import create_token, create_user  # noqa: E402

REF = ROOT / "data" / "reference"
CLIENTS = 50
BUSY = mercantile.tile(72.0, 40.6, 8)

FILL = [
    "INSERT INTO agencies (code, name) VALUES ('BENCH', 'Bench agency')",
    "INSERT INTO devices (uid, kind, agency_id, name) SELECT 'dev-' || g, 'tracker', "
    "(SELECT id FROM agencies WHERE code = 'BENCH'), 'Team ' || g FROM generate_series(1, 200) g",
    # 40 % of the devices patrol the Fergana valley, the rest all over Central Asia
    """INSERT INTO positions (device_id, fix_time, geom, speed_mps, valid)
    SELECT d.id, now() - interval '30 days' + g * interval '518 seconds',
      ST_SetSRID(ST_MakePoint(
        CASE WHEN d.id % 5 < 2 THEN 71.2 + (d.id % 17) * 0.1 ELSE 60 + (d.id * 7919 % 190) * 0.1
        END + 0.4 * sin(g / 300.0 + d.id) + 0.002 * random(),
        CASE WHEN d.id % 5 < 2 THEN 40.2 + (d.id % 11) * 0.07 ELSE 37 + (d.id * 104729 % 90) * 0.1
        END + 0.25 * cos(g / 200.0 + d.id) + 0.002 * random()), 4326),
      10 * random(), true
    FROM devices d CROSS JOIN generate_series(1, 5000) g""",
    """INSERT INTO device_latest (device_id, fix_time, received_at, geom, speed_mps, valid)
    SELECT DISTINCT ON (device_id) device_id, fix_time, received_at, geom, speed_mps, valid
    FROM positions ORDER BY device_id, fix_time DESC""",
    """INSERT INTO incidents (agency_id, category, quantity, unit, occurred_at, geom, source)
    SELECT (SELECT id FROM agencies WHERE code = 'BENCH'),
      (ARRAY['seizure', 'detention', 'detection'])[1 + g % 3], random() * 100, 'kg',
      now() - random() * interval '365 days',
      ST_SetSRID(ST_MakePoint(60 + random() * 20, 36 + random() * 10), 4326), 'bench'
    FROM generate_series(1, 20000) g""",
    """INSERT INTO zones (agency_id, name, kind, geom)
    SELECT (SELECT id FROM agencies WHERE code = 'BENCH'), 'zone ' || g, 'patrol_area',
      ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(60 + random() * 20, 36 + random() * 10),
                                    4326), 0.05 + random() * 0.2))
    FROM generate_series(1, 300) g""",
    """INSERT INTO events (agency_id, device_id, kind, occurred_at, geom)
    SELECT (SELECT id FROM agencies WHERE code = 'BENCH'), 1 + g % 200, 'zone_enter',
      now() - random() * interval '30 days',
      ST_SetSRID(ST_MakePoint(60 + random() * 20, 36 + random() * 10), 4326)
    FROM generate_series(1, 10000) g""",
    """INSERT INTO hotspot_runs (kind, params, input_filter, crs, agency_id)
    VALUES ('gistar', '{}', '{}', 'EPSG:32643', (SELECT id FROM agencies WHERE code = 'BENCH'))""",
    """INSERT INTO hotspot_cells (run_id, cell_id, geom, value, z, p, gi_bin, gi_bin_fdr)
    SELECT (SELECT max(id) FROM hotspot_runs), g, ST_MakeEnvelope(70 + (g % 100) * 0.05,
      39 + (g / 100) * 0.05, 70.05 + (g % 100) * 0.05, 39.05 + (g / 100) * 0.05, 4326),
      random() * 10, random() * 6 - 3, random() * 0.1, (random() * 6 - 3)::int, 0
    FROM generate_series(0, 4999) g""",
]


def make_database(base: str) -> str:
    url = databases.create_database(base, "geomon_bench")
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_partitions(conn, months_ahead=1, months_back=2)
    return url


def fill(url: str) -> str:
    """Load reference layers and the synthetic data; return an analyst's API token."""
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        upsert_countries(conn, read_features(REF / "countries_ne10m.geojson"))
        upsert_borders(conn, read_features(REF / "borders_ne10m.geojson"))
        upsert_places(conn, read_places(REF / "places_central_asia.csv"))
        for stmt in FILL:
            conn.execute(stmt)  # type: ignore[arg-type]
        token = new_token(USER_TOKEN_PREFIX)
        create_user(
            conn,
            name="bench",
            password_hash=hash_password("x" * 24),
            role="analyst",
            agency="BENCH",
        )
        create_token(conn, digest=token_digest(token), ttl=timedelta(days=1), user="bench")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        n = conn.execute("SELECT count(*) FROM positions").fetchone()[0]  # type: ignore[index]
    print(f"filled: {n:,} positions and the demo layers in {time.perf_counter() - t0:.0f} s")
    return token


def bench_token(url: str) -> str:
    """A new API token of the bench user of a kept database."""
    token = new_token(USER_TOKEN_PREFIX)
    with psycopg.connect(url) as conn:
        create_token(conn, digest=token_digest(token), ttl=timedelta(days=1), user="bench")
    return token


def start_server(url: str, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """The API on ``port`` as ``geomon serve`` runs it: one uvicorn process, or ``workers``
    processes each with its own SO_REUSEPORT socket (api/workers.py), each with its own pool
    (GEOMON_DB__POOL_MAX, default here 20, and POOL_MIN 10, unless set in the environment)."""
    env = {
        "GEOMON_DB__POOL_MAX": "20",
        "GEOMON_DB__POOL_MIN": "10",
        **os.environ,
        "GEOMON_DB__URL": url,
    }
    code = (
        "import uvicorn; uvicorn.run('api.app:app_factory', factory=True, "
        f"host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
        if workers == 1
        else f"from api.workers import run_workers; run_workers('127.0.0.1', {port}, {workers}, "
        "log_level='warning')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    for _ in range(300):
        try:
            if (
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
                and _listeners(port) >= workers
            ):
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the API did not start")


def _listeners(port: int) -> int:
    """Listening sockets on ``port`` (each worker binds its own): start when all are up."""
    with open("/proc/net/tcp") as f:
        return sum(
            1
            for line in f.readlines()[1:]
            if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
        )


def random_request(rng: random.Random) -> tuple[str, str]:
    """An OGC items page or a vector tile over the data area, at random: (route label, path)."""
    if rng.random() < 0.5:
        coll = rng.choice(["incidents", "positions-latest", "events", "zones", "places"])
        x, y = rng.uniform(60, 78), rng.uniform(36, 44)
        bbox = f"{x:.3f},{y:.3f},{x + 2:.3f},{y + 2:.3f}" if rng.random() < 0.7 else ""
        return (
            f"ogc {coll}",
            f"/ogc/collections/{coll}/items?limit=100" + (f"&bbox={bbox}" if bbox else ""),
        )
    layer = rng.choice(["incidents", "positions-latest", "zones", "borders", "tracks", "events"])
    z = rng.randint(6, 10)
    t = mercantile.tile(rng.uniform(60, 80), rng.uniform(36, 46), z)
    return f"tile {layer}", f"/tiles/{layer}/{t.z}/{t.x}/{t.y}.mvt"


def _q(values: list[float], pct: int) -> float:
    return (
        statistics.quantiles(values, n=100)[pct - 1] * 1000
        if len(values) > 1
        else (values[0] * 1000 if values else float("nan"))
    )


def print_routes(
    per_route: dict[str, list[float]], errors: dict[str, int], audited: dict[str, int]
) -> None:
    """Per-route latency table (slowest p99 first) with each route's share of the requests."""
    total = sum(len(v) for v in per_route.values())
    print(
        f"  {'route':<24}{'n':>6}{'share':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'err':>5}{'audited':>9}"
    )
    for route, lat in sorted(per_route.items(), key=lambda kv: -_q(kv[1], 99)):
        print(
            f"  {route:<24}{len(lat):>6}{len(lat) / total:>7.0%}{_q(lat, 50):>9.1f}"
            f"{_q(lat, 99):>9.1f}{max(lat) * 1000:>9.1f}{errors.get(route, 0):>5}"
            f"{audited.get(route, 0):>9}"
        )


async def load(
    base: str,
    token: str,
    seconds: float,
    label: str = "load",
    routes: bool = True,
    client_kind: str = "raw",
) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    per_route: dict[str, list[float]] = {}
    route_errors: dict[str, int] = {}
    audited: dict[str, int] = {}
    per_client: dict[int, list[float]] = {}
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    host, port = base.removeprefix("http://").split(":")
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as shared:

        async def worker(i: int) -> None:
            rng = random.Random(i)
            raw = RawClient(host, int(port), headers) if client_kind == "raw" else None
            while time.perf_counter() < stop:
                route, path = random_request(rng)
                t0 = time.perf_counter()
                try:
                    status = (
                        (await raw.get(path))[0] if raw else (await shared.get(path)).status_code
                    )
                    if status != 200:
                        errors.append(f"{status} {path}")
                        route_errors[route] = route_errors.get(route, 0) + 1
                    elif AUDITED_READ.search(path):
                        audited[route] = audited.get(route, 0) + 1
                except (httpx.HTTPError, RawHTTPError) as exc:
                    errors.append(f"{type(exc).__name__} {path}")
                    route_errors[route] = route_errors.get(route, 0) + 1
                latencies.append(dt := time.perf_counter() - t0)
                per_route.setdefault(route, []).append(dt)
                per_client.setdefault(i, []).append(dt)
            if raw:
                await raw.close()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
        elapsed = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{label}: {CLIENTS} {client_kind} clients, {len(latencies)} requests in "
        f"{elapsed:.1f} s = {len(latencies) / elapsed:.0f} req/s; p50 {q[49] * 1000:.1f} ms, "
        f"p99 {q[98] * 1000:.1f} ms; errors {len(errors)}"
        + (f" (first: {errors[:3]})" if errors else "")
    )
    if routes:
        print_routes(per_route, route_errors, audited)
        meds = sorted(statistics.median(v) * 1000 for v in per_client.values())
        print(
            f"  per-client medians: min {meds[0]:.0f} ms, median {statistics.median(meds):.0f}"
            f" ms, max {meds[-1]:.0f} ms"
        )


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def busy_tile(url: str, base: str, token: str, repeat: int) -> None:
    path = f"/tiles/tracks/{BUSY.z}/{BUSY.x}/{BUSY.y}.mvt"
    params = {
        "z": BUSY.z,
        "x": BUSY.x,
        "y": BUSY.y,
        "name": "tracks",
        "since": LAYERS["tracks"].since(datetime.now(UTC)),
    }
    ours, raw, raw_owner, cached = [], [], [], []
    with (
        psycopg.connect(url, autocommit=True) as owner,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        agency = owner.execute("SELECT id FROM agencies WHERE code = 'BENCH'").fetchone()[0]  # type: ignore[index]
        size = len(client.get(path, timeout=60).content)
        for _ in range(repeat):
            owner.execute(
                "UPDATE layer_versions SET version = version + 1 WHERE table_name = 'positions'"
            )
            t0 = time.perf_counter()
            r = client.get(path, timeout=60)
            ours.append(time.perf_counter() - t0)
            assert r.headers["x-tile-cache"] == "miss"
            with owner.transaction():
                owner.execute(
                    "SELECT set_config('geomon.system', 'off', true), "
                    "set_config('geomon.agency_id', %s, true), "
                    "set_config('geomon.role', 'analyst', true)",
                    (str(agency),),
                )
                t0 = time.perf_counter()
                owner.execute(tile_sql(LAYERS["tracks"]), params).fetchone()  # type: ignore[arg-type]
                raw.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            owner.execute(tile_sql(LAYERS["tracks"]), params).fetchone()  # type: ignore[arg-type]
            raw_owner.append(time.perf_counter() - t0)
        for _ in range(repeat * 3):
            t0 = time.perf_counter()
            r = client.get(path)
            cached.append(time.perf_counter() - t0)
            assert r.headers["x-tile-cache"] == "hit"
    print(f"busy tile tracks/{BUSY.z}/{BUSY.x}/{BUSY.y} ({size:,} bytes), medians of {repeat}:")
    print(
        f"  endpoint uncached {median_ms(ours):.1f} ms; raw ST_AsMVT SQL under the same RLS "
        f"context {median_ms(raw):.1f} ms -> ratio {median_ms(ours) / median_ms(raw):.2f} "
        f"(goal <= 1.3); raw SQL as owner without RLS {median_ms(raw_owner):.1f} ms -> ratio "
        f"{median_ms(ours) / median_ms(raw_owner):.2f}"
    )
    print(f"  endpoint cached {median_ms(cached):.2f} ms (goal <= 5 ms)")
    cached_plain(base, token, repeat)


def cached_plain(base: str, token: str, repeat: int) -> None:
    """A cached tile of a layer whose reads are not audited (incidents), and /health with
    auth: what the per-request authentication and audit cost around a cache hit."""
    t = mercantile.tile(72.0, 40.6, 8)
    out = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        for name, path in (
            ("incidents tile (cached, not audited)", f"/tiles/incidents/{t.z}/{t.x}/{t.y}.mvt"),
            ("GET /auth/me (auth only)", "/auth/me"),
        ):
            client.get(path)
            times = []
            for _ in range(repeat * 3):
                t0 = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - t0)
            out[name] = median_ms(times)
    print("  " + "; ".join(f"{k} {v:.2f} ms" for k, v in out.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--workers",
        default=f"1,{os.cpu_count() or 1}",
        help="comma list of uvicorn worker counts, each loaded in turn "
        "(the first is the baseline of the others)",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: raw (bench/rawhttp.py, lean: the default) or "
        "httpx (what this bench used first; ~8 ms of client CPU a request)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the filled bench database (prints its URL) for --reuse",
    )
    parser.add_argument(
        "--reuse",
        metavar="URL",
        default="",
        help="run against a database a --keep run filled (new token)",
    )
    args = parser.parse_args()
    base_url = os.environ.get("GEOMON_DB__URL", "")
    if not base_url:
        raise SystemExit("set GEOMON_DB__URL (scripts/dev-db url)")
    url = args.reuse or make_database(base_url)
    proc = None
    try:
        token = fill(url) if not args.reuse else bench_token(url)
        counts = [int(w) for w in args.workers.split(",")]
        for i, workers in enumerate(counts):
            port = _free_port()
            proc = start_server(url, port, workers)
            api = f"http://127.0.0.1:{port}"
            print(f"--- uvicorn workers: {workers}")
            asyncio.run(load(api, token, 3, "warm-up", False, args.client))  # pools, plans
            asyncio.run(load(api, token, args.seconds, client_kind=args.client))
            if i == len(counts) - 1:
                busy_tile(url, api, token, args.repeat)
            else:
                proc.terminate()
                proc.wait(10)
                proc = None
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if args.keep or args.reuse:
            print(f"kept the bench database: --reuse {url}")
        else:
            databases.drop_database(base_url, url)
            print("dropped the bench database")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
