"""Near-repeat (Knox) benchmark: 20,000 incidents × 999 permutations, against a direct count.

    .venv/bin/python bench/near_repeat.py [--incidents 20000] [--permutations 999]
                                          [--ref-tables 5] [--seed 1]

Incidents: 70 % in clusters that repeat near in space and time (followers within ~300 m and
~3 weeks of a source), 30 % background, over 200 km × 200 km and two years. Bands as an analyst
would give them for "within 2 km and 14 days": space 0, 400, …, 2000 m; time 0, 14, …, 70 days.

The engine (geomon.spatial.near_repeat.knox: KD-tree pairs once, then O(close pairs) per
permutation) runs in full. The baseline is the direct definition (every pair of the n×n
matrix, in row blocks, vectorised with numpy) on the observed table and the first
``--ref-tables - 1`` permutations of the same seed; its tables must equal the engine's
exactly, and its time per table × (permutations + 1) is the baseline for the ratio (the full
direct run would take about an hour here; the extrapolation is linear by construction).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from geomon.spatial import near_repeat as nr

SPACE = [0.0, 400.0, 800.0, 1200.0, 1600.0, 2000.0]
TIME = [0.0, 14.0, 28.0, 42.0, 56.0, 70.0]


def generate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 200_000, n)
    y = rng.uniform(0, 200_000, n)
    t = rng.uniform(0, 730, n)
    sources = int(n * 0.3)
    src = rng.integers(0, sources, n - sources)
    x[sources:] = x[src] + rng.normal(0, 300, n - sources)
    y[sources:] = y[src] + rng.normal(0, 300, n - sources)
    t[sources:] = np.minimum(t[src] + rng.exponential(20, n - sources), 730)
    return x, y, np.floor(t)  # whole days, as incident dates are recorded


def direct_table(x, y, t, se, te, block: int = 500) -> np.ndarray:
    """Knox table by the definition, every pair i < j (row blocks of the distance matrix)."""
    se, te = np.asarray(se), np.asarray(te)
    out = np.zeros((len(se), len(te)), dtype=np.int64)
    n = len(x)
    for a in range(0, n, block):
        b = min(a + block, n)
        dx = x[a:b, None] - x[None, :]
        dy = y[a:b, None] - y[None, :]
        d = np.sqrt(dx * dx + dy * dy)
        dt = np.abs(t[a:b, None] - t[None, :])
        upper = np.arange(a, b)[:, None] < np.arange(n)[None, :]
        keep = upper & (d <= se[-1]) & (dt <= te[-1])
        sb = np.searchsorted(se, d[keep], side="left")
        tb = np.searchsorted(te, dt[keep], side="left")
        out += np.bincount(sb * len(te) + tb, minlength=out.size).reshape(out.shape)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=20_000)
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--ref-tables", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    x, y, t = generate(a.incidents, a.seed)
    print(f"{a.incidents} incidents, {a.permutations} permutations, bands {SPACE} m × {TIME} d")

    t0 = time.perf_counter()
    res = nr.knox(x, y, t, SPACE, TIME, permutations=a.permutations, seed=a.seed)
    engine_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ch = nr.chains(x, y, t, SPACE[1], TIME[1])
    chains_s = time.perf_counter() - t1
    print(f"  engine knox (KD-tree, {res.n_close_pairs} close pairs) {engine_s:9.2f} s")
    print(f"  engine chains ({ch.n_chains} chains)                 {chains_s:9.2f} s")

    tables = [t]
    rng = np.random.default_rng(a.seed)
    tables += [t[rng.permutation(len(t))] for _ in range(a.ref_tables - 1)]
    t2 = time.perf_counter()
    ref = [direct_table(x, y, tt, SPACE, TIME) for tt in tables]
    per_table = (time.perf_counter() - t2) / len(tables)
    assert ref[0].tolist() == res.observed.tolist(), "observed table differs from the direct count"
    se, te = np.asarray(SPACE), np.asarray(TIME)
    i, j, d = nr.close_pairs(x, y, SPACE[-1])
    for k, tt in enumerate(tables[1:], 1):
        sb, tb = nr.band_index(d, se), nr.band_index(np.abs(tt[i] - tt[j]), te)
        keep = tb < len(te)
        eng = np.bincount(sb[keep] * len(te) + tb[keep], minlength=ref[k].size)
        assert eng.reshape(ref[k].shape).tolist() == ref[k].tolist(), f"permutation {k} differs"
    baseline_s = per_table * (a.permutations + 1)
    print(
        f"  direct reference: {per_table:.2f} s per table × {a.permutations + 1} tables "
        f"= {baseline_s:.0f} s (measured on {len(tables)} tables, all equal to the engine's)"
    )
    print(f"ratio direct / engine: {baseline_s / engine_s:.1f}x")
    print("observed / expected (rows: space bands, columns: time bands)")
    for s, row, prow in zip(SPACE, res.ratio, res.p_value, strict=True):
        cells = "  ".join(f"{r:5.2f} (p={p:.3f})" for r, p in zip(row, prow, strict=True))
        print(f"  <= {s:6.0f} m  {cells}")


if __name__ == "__main__":
    main()
