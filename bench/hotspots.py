"""Hotspot engine benchmark (pure part of issue 4): Gi*, emerging hot spots and KDE.

    .venv/bin/python bench/hotspots.py [--points 500000] [--seed 1] [--skip-baselines]
    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/hotspots.py --db

With ``--db`` the same incidents go through PostGIS end to end instead (bench/hotspots_db.py:
a fresh database of its own, COPY insert, then the stored Gi* run read → compute → write).

500,000 generated incidents clustered along routes over an area the size of Uzbekistan
(~449,000 km², as a 1,060 km × 424 km rectangle in a metric CRS) → 5 km hexagon grid,
15 km distance band → Gi*. Baselines are measured in the same run on the same grid and
weights: esda.G_Local (analytic, and with permutations), Gi* on explicit space-time weights
for the emerging-hot-spot run, and direct (exact) kernel summation for the KDE.

The run is three steps with clear boundaries: ``load_points`` (generated here; a ``--db URL``
source belongs there), ``compute_*`` (pure engine), ``write_results`` (a DB writer belongs
there). Timings are printed per step.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from geomon.spatial.ehsa import emerging_hotspots, space_time_gistar
from geomon.spatial.gistar import gistar, gistar_z
from geomon.spatial.grid import GridCells, GridSpec, aggregate_to_grid
from geomon.spatial.kde import kernel_density
from geomon.spatial.weights import Weights, distance_band

WIDTH_M, HEIGHT_M = 1_060_000.0, 424_000.0  # ≈ 449,000 km², Uzbekistan's area
CRS = "+proj=laea +lat_0=41.4 +lon_0=64.6 +datum=WGS84 +units=m"  # centred on Uzbekistan
MONTHS = 60


@dataclass
class Points:
    """Incidents in the metric CRS with a month index (0..59)."""

    x: np.ndarray
    y: np.ndarray
    month: np.ndarray


def timed(label: str, fn: Callable[[], Any], sink: dict[str, float]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    sink[label] = time.perf_counter() - t0
    print(f"  {label:<44s} {sink[label]:8.3f} s", flush=True)
    return out


def generate_incidents(n: int, seed: int) -> Points:
    """Exactly n incidents inside the area: route clusters plus 10 % background."""
    rng = np.random.default_rng(seed)
    routes = [
        np.cumsum(rng.normal(0, 60_000, (12, 2)), axis=0) + rng.uniform([0, 0], [WIDTH_M, HEIGHT_M])
        for _ in range(14)
    ]
    growth = rng.uniform(-1, 1, len(routes))
    batch = _incident_batch(int(n * 1.6), routes, growth, rng)
    while len(batch.x) < n:
        more = _incident_batch(n, routes, growth, rng)
        batch = Points(
            np.r_[batch.x, more.x], np.r_[batch.y, more.y], np.r_[batch.month, more.month]
        )
    return Points(batch.x[:n], batch.y[:n], batch.month[:n])


def _incident_batch(
    n: int, routes: list[np.ndarray], growth: np.ndarray, rng: np.random.Generator
) -> Points:
    """Incidents along 14 routes (lateral spread 1–4 km), hubs on them, 10 % background."""
    n_bg = n // 10
    n_route = n - n_bg
    which = rng.integers(0, len(routes), n_route)
    seg = rng.integers(0, 11, n_route)
    t = rng.beta(0.6, 0.6, n_route)  # more incidents near the waypoints (hubs)
    waypoints = np.stack(routes)
    a, b = waypoints[which, seg], waypoints[which, seg + 1]
    spread = rng.uniform(1000, 4000, n_route)[:, None]
    pts = a + (b - a) * t[:, None] + rng.normal(0, 1, (n_route, 2)) * spread
    x = np.r_[pts[:, 0], rng.uniform(0, WIDTH_M, n_bg)]
    y = np.r_[pts[:, 1], rng.uniform(0, HEIGHT_M, n_bg)]
    inside = (x >= 0) & (x < WIDTH_M) & (y >= 0) & (y < HEIGHT_M)
    # Month: some routes grow over the 5 years, others fade.
    g = np.r_[growth[which], np.zeros(n_bg)]
    u = rng.uniform(0, 1, len(x))
    month = np.floor(MONTHS * np.where(g >= 0, u ** (1 / (1 + 2 * g)), 1 - u ** (1 - 2 * g)))
    return Points(x[inside], y[inside], np.clip(month, 0, MONTHS - 1).astype(np.int64)[inside])


def load_points(args: argparse.Namespace) -> Points:
    """Where the points come from: generated here; a ``--db URL`` reader goes here."""
    return generate_incidents(args.points, args.seed)


def compute_gistar(pts: Points, t: dict[str, float]) -> tuple[GridCells, Weights, Any]:
    spec = GridSpec("hex", 5000.0, (0.0, 0.0, WIDTH_M, HEIGHT_M))
    cells = timed(
        "aggregate to 5 km hex grid", lambda: aggregate_to_grid(pts.x, pts.y, None, spec), t
    )
    w = timed("weights: 15 km distance band", lambda: distance_band(cells.cx, cells.cy, 15000.0), t)
    res = timed("Gi* (analytic z, p, bins, FDR)", lambda: gistar(cells.values, w, fdr=True), t)
    return cells, w, res


def esda_baseline(
    cells: GridCells, w: Weights, ours_z: np.ndarray, perms: int, t: dict[str, float]
) -> None:
    import esda
    from libpysal.weights import W

    lw = timed("libpysal W.from_sparse (not in ratio)", lambda: W.from_sparse(w.matrix), t)
    lg = timed(
        "esda.G_Local star=True, analytic",
        lambda: esda.G_Local(cells.values, lw, transform="B", star=True, permutations=0),
        t,
    )
    print(f"  max |z_ours - z_esda| = {np.nanmax(np.abs(lg.Zs - ours_z)):.2e}")
    # Warm both numba kernels on a tiny case so compile time is not measured.
    small = sp.csr_matrix(w.matrix[:50, :50])
    gistar(cells.values[:50] + np.arange(50), small, permutations=9, seed=0)
    esda.G_Local(
        cells.values[:50] + np.arange(50),
        W.from_sparse(small),
        transform="B",
        star=True,
        permutations=9,
        seed=0,
    )
    timed(
        f"Gi* + {perms} permutations (ours)",
        lambda: gistar(cells.values, w, permutations=perms, seed=1),
        t,
    )
    timed(
        f"esda.G_Local + {perms} permutations",
        lambda: esda.G_Local(
            cells.values, lw, transform="B", star=True, permutations=perms, seed=1
        ),
        t,
    )


def compute_ehsa(pts: Points, cells: GridCells, w: Weights, t: dict[str, float]):
    def cube() -> np.ndarray:
        out = np.zeros((len(cells), MONTHS))
        for m in range(MONTHS):
            sel = pts.month == m
            out[:, m] = aggregate_to_grid(pts.x[sel], pts.y[sel], None, cells.spec).values
        return out

    c = timed(f"space-time cube ({MONTHS} monthly steps)", cube, t)
    res = timed("emerging hot spots (Gi*, MK, patterns)", lambda: emerging_hotspots(c, w), t)
    names, counts = np.unique(res.pattern_names, return_counts=True)
    print("  " + ", ".join(f"{n}: {k}" for n, k in zip(names, counts, strict=True)))
    return c, res


def ehsa_baseline(c: np.ndarray, w: Weights, t: dict[str, float]) -> None:
    lag = sp.diags([np.ones(MONTHS), np.ones(MONTHS - 1)], [0, -1]).tocsr()
    big = timed(
        "naive: explicit space-time weights (kron)", lambda: sp.kron(lag, w.matrix, format="csr"), t
    )
    z = timed("naive: Gi* on explicit space-time weights", lambda: gistar_z(c.T.ravel(), big), t)
    ours, _ = space_time_gistar(c, w, 1)
    print(f"  max |z_cube - z_naive| = {np.nanmax(np.abs(ours - z.reshape(MONTHS, -1).T)):.2e}")


def compute_kde(pts: Points, t: dict[str, float]):
    side = max(WIDTH_M, HEIGHT_M)
    extent = (0.0, HEIGHT_M / 2 - side / 2, side, HEIGHT_M / 2 + side / 2)
    cell = side / 2000
    res = timed(
        "KDE 2000×2000 (binned FFT, default radius)",
        lambda: kernel_density(
            pts.x, pts.y, cell_size=cell, crs=CRS, extent=extent, method="binned"
        ),
        t,
    )
    return res, extent, cell


def kde_baseline(pts: Points, extent, cell: float, r: float, t: dict[str, float]) -> None:
    k = len(pts.x) // 20
    kernel_density(
        pts.x[:100],
        pts.y[:100],
        cell_size=cell,
        crs=CRS,
        extent=extent,
        bandwidth=r,
        method="exact",
    )  # compile
    timed(
        f"exact kernel sum, 1/20 of points ({k})",
        lambda: kernel_density(
            pts.x[:k],
            pts.y[:k],
            cell_size=cell,
            crs=CRS,
            extent=extent,
            bandwidth=r,
            method="exact",
        ),
        t,
    )


def write_results(*_: Any) -> None:
    """Where results go: nothing here; the store's hotspot_runs/hotspot_cells writer goes here."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument("--db", action="store_true", help="End to end through PostGIS instead.")
    args = ap.parse_args()
    t: dict[str, float] = {}
    if args.db:
        _db_mode(args, t)
        return
    print("load")
    pts = timed(f"generate {args.points} incidents", lambda: load_points(args), t)
    print("Gi* (5 km hex, 15 km band)")
    cells, w, res = compute_gistar(pts, t)
    s = w.summary()
    print(
        f"  {len(cells)} cells, {s['mean_neighbours']:.1f} mean neighbours, "
        f"{int((res.gi_bin > 0).sum())} hot / {int((res.gi_bin < 0).sum())} cold cells"
    )
    if not args.skip_baselines:
        esda_baseline(cells, w, res.z, args.permutations, t)
    print("emerging hot spots")
    cube, ehsa = compute_ehsa(pts, cells, w, t)
    if not args.skip_baselines:
        ehsa_baseline(cube, w, t)
    print("kernel density")
    kde, extent, cell = compute_kde(pts, t)
    print(f"  radius {kde.bandwidth:.0f} m (ArcGIS default rule), cell {cell:.0f} m")
    if not args.skip_baselines:
        kde_baseline(pts, extent, cell, kde.bandwidth, t)
    write_results(cells, res, ehsa, kde)
    _summary(t, args)


def _db_mode(args: argparse.Namespace, t: dict[str, float]) -> None:
    from hotspots_db import run_db  # bench/ is on sys.path when run as a script

    from geomon.spatial.crs import transform_xy

    pts = timed(f"generate {args.points} incidents", lambda: load_points(args), t)
    lon, lat = transform_xy(pts.x, pts.y, CRS, "EPSG:4326")
    run_db(lon, lat, pts.month, args.skip_baselines)


def _summary(t: dict[str, float], args: argparse.Namespace) -> None:
    engine = (
        t["aggregate to 5 km hex grid"]
        + t["weights: 15 km distance band"]
        + t["Gi* (analytic z, p, bins, FDR)"]
    )
    print("summary")
    print(f"  Gi* engine end to end (grid + weights + Gi*): {engine:.3f} s")
    if args.skip_baselines:
        return
    g = t["Gi* (analytic z, p, bins, FDR)"]
    e = t["esda.G_Local star=True, analytic"]
    print(f"  esda analytic / ours analytic:           {e / g:8.1f}x")
    p_ours = t[f"Gi* + {args.permutations} permutations (ours)"]
    p_esda = t[f"esda.G_Local + {args.permutations} permutations"]
    print(f"  esda / ours with {args.permutations} permutations:      {p_esda / p_ours:8.1f}x")
    naive = (
        t["naive: explicit space-time weights (kron)"]
        + t["naive: Gi* on explicit space-time weights"]
    )
    ours = t["emerging hot spots (Gi*, MK, patterns)"]
    print(f"  EHSA: naive space-time Gi* only / our full EHSA: {naive / ours:8.1f}x")
    exact = 20 * [v for k, v in t.items() if k.startswith("exact kernel")][0]
    kde = t["KDE 2000×2000 (binned FFT, default radius)"]
    print(f"  KDE: exact summation (×20 extrapolated) / binned FFT: {exact / kde:8.1f}x")


if __name__ == "__main__":
    main()
