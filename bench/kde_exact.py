"""Exact kernel density against a plain numba gather and the scatter it replaced, same run.

    .venv/bin/python bench/kde_exact.py [--points 1000000] [--cells 2000] [--radius-cells 15]

``--points`` clustered points on a ``--cells`` × ``--cells`` raster (100 m cells), quartic
kernel of ``--radius-cells`` cells. Three evaluations of the same sum:

- ``kernel_density(method="exact")`` (geomon/spatial/kde.py: rows gather in parallel);
- reference: a plain numba gather written here — per output row (prange) every point whose
  row is within r, every column of the point's kernel box, no sorting tricks beyond the
  row window;
- before: the single-threaded scatter that ``exact`` used until issue 16.

Prints the times (medians of ``--reps`` interleaved rounds), the ratios to the reference
and the largest difference from the reference
(relative to the maximum). Also the binned path's time and its error against exact where the
density is above 1 % of the maximum. Numba compilation is excluded (a warm-up call first).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geomon.spatial.kde import kernel_density  # noqa: E402

CELL = 100.0


@numba.njit(parallel=True, cache=True)
def reference(col_f, row_f, w, rows, cols, r):  # pragma: no cover - numba
    """row_f sorted ascending."""
    out = np.zeros((rows, cols))
    norm = 3.0 / (np.pi * r * r)
    for j in numba.prange(rows):
        lo = np.searchsorted(row_f, j - r)
        hi = np.searchsorted(row_f, j + r)
        for i in range(lo, hi):
            c0 = max(0, int(col_f[i] - r))
            c1 = min(cols - 1, int(col_f[i] + r) + 1)
            for c in range(c0, c1 + 1):
                d2 = (c - col_f[i]) ** 2 + (j - row_f[i]) ** 2
                if d2 < r * r:
                    u = 1.0 - d2 / (r * r)
                    out[j, c] += w[i] * norm * u * u
    return out


@numba.njit(cache=True)
def before(col_f, row_f, w, rows, cols, r_cells):  # pragma: no cover - numba
    out = np.zeros((rows, cols))
    norm = 3.0 / (np.pi * r_cells * r_cells)
    r2 = r_cells * r_cells
    for i in range(len(col_f)):
        c0 = max(0, int(np.ceil(col_f[i] - r_cells)))
        c1 = min(cols - 1, int(np.floor(col_f[i] + r_cells)))
        j0 = max(0, int(np.ceil(row_f[i] - r_cells)))
        j1 = min(rows - 1, int(np.floor(row_f[i] + r_cells)))
        for j in range(j0, j1 + 1):
            dy2 = (j - row_f[i]) ** 2
            for c in range(c0, c1 + 1):
                d2 = (c - col_f[i]) ** 2 + dy2
                if d2 < r2:
                    u = 1.0 - d2 / r2
                    out[j, c] += w[i] * norm * u * u
    return out


def points(n: int, cells: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = cells * CELL
    k = n // 2
    centres = rng.uniform(0.1 * size, 0.9 * size, (40, 2))
    pick = rng.integers(0, 40, k)
    x = np.r_[centres[pick, 0] + rng.normal(0, size / 60, k), rng.uniform(0, size, n - k)]
    y = np.r_[centres[pick, 1] + rng.normal(0, size / 60, k), rng.uniform(0, size, n - k)]
    return np.clip(x, 0, size - 1), np.clip(y, 0, size - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--cells", type=int, default=2000)
    ap.add_argument("--radius-cells", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-before", action="store_true")
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds (medians)")
    args = ap.parse_args()
    print(
        f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}; "
        f"numba threads {numba.get_num_threads()}",
        flush=True,
    )
    x, y = points(args.points, args.cells, args.seed)
    size = args.cells * CELL
    r = args.radius_cells * CELL
    kw = {"cell_size": CELL, "crs": "EPSG:32642", "bandwidth": r, "extent": (0, 0, size, size)}
    # warm-ups (numba compilation excluded)
    kernel_density(x[:100], y[:100], method="exact", **kw)
    col_f, row_f = x / CELL - 0.5, (size - y) / CELL - 0.5
    order = np.argsort(row_f)
    w = np.ones(len(x))
    reference(col_f[order][:100], row_f[order][:100], w[:100], 10, 10, args.radius_cells)
    before(col_f[:100], row_f[:100], w[:100], 10, 10, args.radius_cells)

    t_o, t_r = [], []
    for _ in range(args.reps):  # interleaved: both sample the host's drift
        t = time.perf_counter()
        ours = kernel_density(x, y, method="exact", **kw).grid.array.astype(float)
        t_o.append(time.perf_counter() - t)
        t = time.perf_counter()
        o = np.argsort(row_f)
        ref = reference(col_f[o], row_f[o], w, args.cells, args.cells, args.radius_cells)
        ref = ref / (CELL * CELL) * 1e6
        t_r.append(time.perf_counter() - t)
    t_ours, t_ref = statistics.median(t_o), statistics.median(t_r)
    diff = np.abs(ours - ref).max() / ref.max()
    print(
        f"exact {t_ours:6.2f} s   reference gather {t_ref:6.2f} s (medians of {args.reps})  "
        f"ratio exact/reference {t_ours / t_ref:5.2f} (goal <= 1)   max diff {diff:.1e} "
        "of max (float32 raster)"
    )
    if not args.skip_before:
        t = time.perf_counter()
        before(col_f, row_f, w, args.cells, args.cells, args.radius_cells)
        t_b = time.perf_counter() - t
        print(f"before (single-threaded scatter) {t_b:6.2f} s   {t_b / t_ours:5.2f}x exact")
    t = time.perf_counter()
    binned = kernel_density(x, y, method="binned", **kw).grid.array.astype(float)
    t_bin = time.perf_counter() - t
    hot = ref > 0.01 * ref.max()
    err = (np.abs(binned - ref)[hot] / ref[hot]).max()
    print(f"binned {t_bin:6.2f} s   max relative error where density > 1 % of max: {err:.2%}")
    print(f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
