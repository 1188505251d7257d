"""Benchmark: zone tagging + enter/exit detection, and patrol coverage.

    .venv/bin/python bench/events.py [--zones 10000] [--positions 100000] [--sql-points 2000]
                                     [--teams 500] [--hours 24] [--grid 2000]

1. Zone tagging and enter/exit/cross detection with geomon.alerts (STRtree over prepared
   polygons, vectorised) for ``--positions`` fixes of 1,000 devices against ``--zones`` zones;
   baseline: the same zones in a fresh PostGIS database on the dev cluster (GiST index), one
   ``ST_Contains`` query per fix (``--sql-points`` fixes), enter/exit by Python set difference.
   Prints positions/s of both and the ratio. The database is dropped at the end.
2. Coverage of a ``--hours`` window of ``--teams`` teams at 1 Hz on a ``--grid``² risk surface
   (100 m cells): rasterise tracks + windowed EDT per team, union, then next-patrol areas.
   Baseline: the same per-team work with a full-grid EDT (measured on 5 teams, extrapolated).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomon.alerts import Track, Zone, ZoneIndex, zone_transitions  # noqa: E402

BBOX = (66.0, 36.5, 80.0, 44.0)  # Central Asia, lon/lat


def make_zones(n: int, seed: int = 1) -> list[Zone]:
    """Random polygons of 1-6 km (buffered points, 16 vertices) over the region."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(BBOX[0], BBOX[2], n)
    y = rng.uniform(BBOX[1], BBOX[3], n)
    r = rng.uniform(0.01, 0.05, n)
    geoms = shapely.buffer(shapely.points(x, y), r, quad_segs=4)
    return [Zone(i + 1, "restricted", g) for i, g in enumerate(geoms)]


def make_track(n: int, devices: int = 1000, seed: int = 2) -> Track:
    """Random walks (~100 m steps); starts near zone centres so many fixes are inside zones."""
    rng = np.random.default_rng(seed)
    per = n // devices
    start_x = rng.uniform(BBOX[0], BBOX[2], devices)
    start_y = rng.uniform(BBOX[1], BBOX[3], devices)
    steps = rng.normal(0, 0.004, (devices, per, 2)).cumsum(axis=1)
    lon = (start_x[:, None] + steps[..., 0]).ravel()
    lat = (start_y[:, None] + steps[..., 1]).ravel()
    dev = np.repeat(np.arange(devices), per)
    t = np.tile(np.arange(per, dtype=np.int64) * 1_000_000, devices)
    return Track(dev, t, lon, lat, np.full(dev.size, 5.0))


def bench_engine(zones: list[Zone], track: Track) -> tuple[float, int, float]:
    t0 = time.perf_counter()
    index = ZoneIndex(zones)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    tr = zone_transitions(track, index)
    dt = time.perf_counter() - t0
    return len(track) / dt, len(tr), build


def bench_postgis(zones: list[Zone], track: Track, n_points: int) -> tuple[float, int]:
    import psycopg

    from tests.conftest import create_database, drop_database

    base = subprocess.check_output([str(ROOT / "scripts" / "dev-db"), "url"], text=True).strip()
    url = create_database(base, f"geomon_bench_{uuid.uuid4().hex[:6]}")
    try:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE z (id int PRIMARY KEY, geom geometry(Polygon, 4326))")
            with conn.cursor().copy("COPY z (id, geom) FROM STDIN") as cp:
                for z in zones:
                    cp.write_row((z.id, f"SRID=4326;{z.geom.wkt}"))
            conn.execute("CREATE INDEX ON z USING gist (geom)")
            conn.execute("ANALYZE z")
            conn.commit()
            prev: dict[int, set[int]] = {}
            events = 0
            t0 = time.perf_counter()
            for i in range(n_points):
                rows = conn.execute(
                    "SELECT id FROM z WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), "
                    "4326))",
                    (float(track.lon[i]), float(track.lat[i])),
                ).fetchall()
                cur = {r[0] for r in rows}
                d = int(track.device[i])
                if d in prev:
                    events += len(cur - prev[d]) + len(prev[d] - cur)
                prev[d] = cur
            dt = time.perf_counter() - t0
    finally:
        _drop(base, url, drop_database)
    return n_points / dt, events


def _drop(base: str, url: str, drop_database) -> None:  # type: ignore[no-untyped-def]
    """Drop the bench database; retry while autovacuum still holds it (FORCE cannot end it)."""
    import psycopg

    for attempt in range(20):
        try:
            drop_database(base, url)
            return
        except psycopg.errors.InsufficientPrivilege:
            time.sleep(0.5 * (attempt + 1))
    drop_database(base, url)


def synthetic_risk(n: int, seed: int = 3) -> np.ndarray:
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    r = ndimage.gaussian_filter(rng.standard_normal((n, n)).astype(np.float32), n / 50)
    return (r - r.min()) / np.ptp(r)


def team_tracks(
    teams: int, fixes: int, n: int, cell: float, seed: int = 4
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """1 Hz vehicle tracks: each team patrols its own sector (two superposed loops of 3-15 km
    around a home base, 3-12 m/s), clipped to the grid."""
    rng = np.random.default_rng(seed)
    size = n * cell
    t = np.arange(fixes, dtype=np.float64)
    out = {}
    for k in range(teams):
        hx, hy = rng.uniform(0.05 * size, 0.95 * size, 2)
        r1, r2 = rng.uniform(3_000, 15_000), rng.uniform(500, 3_000)
        w1 = rng.uniform(3, 12) / r1
        w2 = w1 * rng.uniform(3, 7)
        p = rng.uniform(0, 2 * np.pi, 4)
        x = hx + r1 * np.sin(w1 * t + p[0]) + r2 * np.sin(w2 * t + p[1])
        y = hy + r1 * np.cos(w1 * t * 0.7 + p[2]) + r2 * np.cos(w2 * t + p[3])
        out[f"team{k:03d}"] = (np.clip(x, 0, size - 1), np.clip(y, 1, size))
    return out


def bench_coverage(teams: int, hours: float, n: int) -> None:
    from affine import Affine
    from scipy import ndimage

    from geomon.spatial.coverage import coverage, next_patrol, track_cells

    cell = 100.0
    transform = Affine(cell, 0, 0, 0, -cell, n * cell)
    fixes = int(hours * 3600)
    t0 = time.perf_counter()
    risk = synthetic_risk(n)
    tracks = team_tracks(teams, fixes, n, cell)
    print(
        f"coverage input: {teams} teams x {fixes} fixes = {teams * fixes / 1e6:.1f} M fixes, "
        f"{n}x{n} surface ({time.perf_counter() - t0:.1f} s to generate)"
    )
    t0 = time.perf_counter()
    cov = coverage(risk, transform, tracks, distance_m=500.0, top_pct=10.0)
    t_cov = time.perf_counter() - t0
    t0 = time.perf_counter()
    last = {k: (float(v[0][-1]), float(v[1][-1])) for k, v in tracks.items()}
    areas, _ = next_patrol(risk, cov.layer == 2, transform, last, top=50)
    t_next = time.perf_counter() - t0
    print(
        f"coverage: {t_cov:.2f} s (top 10 % cells within 500 m: {cov.total.share:.1%} covered);"
        f" next patrol: {t_next:.2f} s ({len(areas)} areas ranked)"
    )
    sample = list(tracks.items())[:5]
    t0 = time.perf_counter()
    for _, (x, y) in sample:
        visited = np.zeros(risk.size, dtype=bool)
        visited[track_cells(x, y, transform, risk.shape)] = True
        ndimage.distance_transform_edt(~visited.reshape(risk.shape), sampling=cell)
    per_team = (time.perf_counter() - t0) / len(sample)
    base = per_team * teams
    print(
        f"baseline full-grid EDT per team: {per_team:.2f} s/team -> {base:.1f} s for {teams} "
        f"teams (extrapolated from 5); ratio baseline/ours = {base / t_cov:.1f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zones", type=int, default=10_000)
    ap.add_argument("--positions", type=int, default=100_000)
    ap.add_argument("--sql-points", type=int, default=2_000)
    ap.add_argument("--teams", type=int, default=500)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--grid", type=int, default=2000)
    ap.add_argument("--skip-coverage", action="store_true")
    args = ap.parse_args()
    zones = make_zones(args.zones)
    track = make_track(args.positions)
    ours, n_events, build = bench_engine(zones, track)
    inside = ZoneIndex(zones).points_in_zones(track.lon, track.lat)[0]
    print(
        f"zones: {args.zones}, positions: {args.positions} (1000 devices), "
        f"{np.unique(inside).size} fixes inside a zone, {n_events} enter/exit/cross events; "
        f"index build {build:.2f} s"
    )
    print(f"geomon.alerts: {ours:,.0f} positions/s (tagging + enter/exit/cross)")
    sql, sql_events = bench_postgis(zones, track, args.sql_points)
    print(
        f"PostGIS per-point ST_Contains (GiST): {sql:,.0f} positions/s "
        f"({args.sql_points} fixes, {sql_events} enter/exit)"
    )
    print(f"ratio geomon/PostGIS = {ours / sql:.1f}x")
    if not args.skip_coverage:
        bench_coverage(args.teams, args.hours, args.grid)


if __name__ == "__main__":
    main()
