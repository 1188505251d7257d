"""Gi* on a square grid: the stencil path (geomon/spatial/gistar_grid.py) against the sparse
distance-band path (weights + gistar_z) and esda, measured in the same run.

    .venv/bin/python bench/gistar_grid.py [--sizes 100000,1000000,4000000] [--esda-max 100000]

Square lattices of ``size`` cells (all kept, Poisson counts with a few hot areas), 3-cell
distance band (29 cells incl. self). Times include building the "weights" (the stencil, or
the sparse matrix); peak memory of the call is from tracemalloc (numpy reports its arrays
there). Prints per size: stencil time, per-cell cost, peak memory; sparse time and the
ratio; esda where it runs (``--esda-max``); and max |z_stencil − z_sparse|. Sizes above
``--sparse-max`` skip the sparse path (~2 kB per cell of memory).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geomon.spatial.gistar import gistar_z  # noqa: E402
from geomon.spatial.gistar_grid import gistar_grid_z  # noqa: E402
from geomon.spatial.weights import distance_band  # noqa: E402

CELL = 1000.0
BAND = 3000.0


def lattice(size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    side = int(round(size**0.5))
    rr, cc = np.divmod(np.arange(side * side), side)
    rng = np.random.default_rng(seed)
    lam = np.full(side * side, 0.5)
    for _ in range(20):
        r0, c0 = rng.uniform(0, side, 2)
        lam += 8 * np.exp(-((rr - r0) ** 2 + (cc - c0) ** 2) / (2 * (side / 50) ** 2))
    return rr, cc, rng.poisson(lam).astype(float)


def timed(f):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    t = time.perf_counter()
    out = f()
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000,4000000")
    ap.add_argument("--sparse-max", type=int, default=1_000_000)
    ap.add_argument("--esda-max", type=int, default=0, help="esda up to this size (slow)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    gistar_grid_z(np.arange(9.0), np.arange(9) // 3, np.arange(9) % 3, CELL, BAND)  # warm
    for size in (int(s) for s in args.sizes.split(",")):
        rr, cc, y = lattice(size, args.seed)
        n = len(y)
        (z, _), dt, peak = timed(lambda: gistar_grid_z(y, rr, cc, CELL, BAND))  # noqa: B023
        line = (
            f"{n:>9,} cells  stencil {dt:6.2f} s ({dt / n * 1e6:5.2f} µs/cell, "
            f"peak {peak / 1e6:6.0f} MB)"
        )
        if n <= args.sparse_max:
            cx, cy = (cc + 0.5) * CELL, (rr + 0.5) * CELL

            zs, ds, ps = timed(lambda: gistar_z(y, distance_band(cx, cy, BAND)))  # noqa: B023
            line += (
                f"  sparse {ds:6.2f} s (peak {ps / 1e6:6.0f} MB)  {ds / dt:5.1f}x  "
                f"max|dz| {np.nanmax(np.abs(z - zs)):.1e}"
            )
        if n <= args.esda_max:
            import esda
            import libpysal

            w = distance_band((cc + 0.5) * CELL, (rr + 0.5) * CELL, BAND)
            t = time.perf_counter()
            lw = libpysal.weights.W.from_sparse(w.matrix)
            ze = esda.G_Local(y, lw, transform="B", star=True, permutations=0).Zs
            de = time.perf_counter() - t
            line += f"  esda {de:6.1f} s {de / dt:6.0f}x  max|dz| {np.nanmax(np.abs(z - ze)):.1e}"
        print(line, flush=True)
    print(f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
