"""Benchmark: geomon cost distance / corridor vs scikit-image MCP_Geometric, same raster, same run.

    .venv/bin/python bench/corridors.py [--size 4000] [--repeat 1]

Every measurement runs in a fresh child process (so peak RSS, read from /proc/self/status
VmHWM, belongs to that one computation); the raster is built once and handed over as .npy.
Prints times, the ratio ours/skimage (goal ≤ 1.0), peak RSS and peak above the post-load
baseline, and the largest relative difference between the two accumulated surfaces.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CELL = 30.0


def build_raster(n: int, seed: int = 42) -> np.ndarray:
    """Smooth multi-scale noise in [0.5, 5.5] relative cost/metre, with rectangular barriers
    that never touch at a corner (so both engines must agree exactly)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    cost = np.zeros((n, n), dtype=np.float64)
    for sigma, w in ((n / 40, 1.0), (n / 200, 0.5), (2.0, 0.25)):
        layer = ndimage.gaussian_filter(rng.standard_normal((n, n)), sigma)
        cost += w * (layer - layer.min()) / (np.ptp(layer) or 1.0)
    cost = 0.5 + 5.0 * (cost - cost.min()) / np.ptp(cost)
    k = n // 8
    for i in range(1, 7):  # staggered walls with gaps: routes must go round
        r = i * k
        lo, hi = (0, n - k) if i % 2 else (k, n)
        cost[r : r + 3, lo:hi] = np.inf
    return cost


def _points(n: int) -> tuple[tuple[int, int], tuple[int, int]]:
    return (n // 16, n // 2), (n - n // 16, n // 3)


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def child(task: str, path: str, out: str) -> None:
    """Run one task on the saved raster and print JSON with time and memory figures."""
    cost = np.load(path)
    n = cost.shape[0]
    a, b = _points(n)
    if task.startswith("ours"):
        from geomon.spatial.costdist import accumulated_cost

        if task.startswith("ours-corr"):
            from geomon.spatial.corridors import corridor

        accumulated_cost(cost[:64, :64], [(1, 1)], sampling=CELL)  # load the numba cache
    else:
        from skimage.graph import MCP_Geometric
    base = _vm("VmRSS")
    t0 = time.perf_counter()
    extra: dict[str, float] = {}
    if task == "ours-acc":
        acc = accumulated_cost(cost, [a], sampling=CELL).accumulated
    elif task == "sk-acc":
        acc, _ = MCP_Geometric(cost, fully_connected=True, sampling=(CELL, CELL)).find_costs([a])
    elif task.startswith("ours-corr"):
        workers = 1 if task == "ours-corr-1thread" else 2
        c = corridor(cost, [a], [b], sampling=CELL, percentile=1.0, workers=workers)
        acc = None
        extra = {"threshold": c.threshold, "n_cells": c.n_cells, "min": c.min_cost}
    else:
        acc = None
        extra = _sk_corridor(cost, a, b)
    dt = time.perf_counter() - t0
    if acc is not None:
        np.save(out, acc)
    print(json.dumps({"task": task, "s": dt, "hwm": _vm("VmHWM"), "base": base, **extra}))


def _sk_corridor(cost: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> dict[str, float]:
    """The same corridor work with scikit-image: two surfaces, sum, percentile cut, path."""
    from skimage.graph import MCP_Geometric

    mcp = MCP_Geometric(cost, fully_connected=True, sampling=(CELL, CELL))
    acc_a, _ = mcp.find_costs([a])
    path = mcp.traceback(b)
    acc_b, _ = MCP_Geometric(cost, fully_connected=True, sampling=(CELL, CELL)).find_costs([b])
    total = acc_a + acc_b
    thr = float(np.percentile(total[np.isfinite(total)], 1.0))
    mask = total <= thr
    return {"threshold": thr, "n_cells": int(mask.sum()), "min": float(total.min()),
            "path_cells": len(path)}  # fmt: skip


def run(task: str, raster: Path, tmp: Path) -> dict[str, float]:
    out = tmp / f"{task}.npy"
    cmd = [sys.executable, __file__, "--child", task, str(raster), str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", nargs=3, metavar=("TASK", "RASTER", "OUT"))
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        raster = tmp / "cost.npy"
        np.save(raster, build_raster(args.size))
        print(f"raster {args.size}×{args.size} float64, cell {CELL} m, "
              f"{raster.stat().st_size / 2**20:.0f} MiB on disk")  # fmt: skip
        for kind, ours_tasks in (("acc", ("ours-acc",)),
                                 ("corr", ("ours-corr", "ours-corr-1thread"))):  # fmt: skip
            best: dict[str, dict[str, float]] = {}
            for _ in range(args.repeat):
                for task in (*ours_tasks, f"sk-{kind}"):
                    r = run(task, raster, tmp)
                    if task not in best or r["s"] < best[task]["s"]:
                        best[task] = r
            for task in ours_tasks:
                report(task, best[task], best[f"sk-{kind}"])
            if kind == "acc":
                compare(tmp / "ours-acc.npy", tmp / "sk-acc.npy")


LABELS = {
    "ours-acc": "accumulated cost, one source",
    "ours-corr": "corridor A↔B (percentile 1; ours: the two surfaces in 2 threads)",
    "ours-corr-1thread": "corridor A↔B (percentile 1; ours: 1 thread)",
}


def report(task: str, ours: dict[str, float], sk: dict[str, float]) -> None:
    mib = 2**20
    label = LABELS[task]
    print(f"\n== {label}")
    for name, r in (("geomon (numba)", ours), ("skimage MCP_Geometric", sk)):
        extra = f"  min={r['min']:.6g} thr={r['threshold']:.6g} n={r['n_cells']}" if (
            "min" in r) else ""  # fmt: skip
        over = (r["hwm"] - r["base"]) / mib
        print(f"{name:24s} {r['s']:8.2f} s   peak RSS {r['hwm'] / mib:7.0f} MiB"
              f"   (+{over:.0f} MiB over loaded raster+imports){extra}")  # fmt: skip
    over_ratio = (ours["hwm"] - ours["base"]) / (sk["hwm"] - sk["base"])
    print(f"ratio time ours/skimage = {ours['s'] / sk['s']:.3f}   "
          f"ratio peak RSS = {ours['hwm'] / sk['hwm']:.3f}   "
          f"ratio peak-over-base = {over_ratio:.3f}")  # fmt: skip


def compare(ours_path: Path, sk_path: Path) -> None:
    ours, sk = np.load(ours_path), np.load(sk_path)
    fin = np.isfinite(sk) & (sk > 0)
    same_inf = bool(np.array_equal(np.isinf(ours), np.isinf(sk)))
    rel = float(np.max(np.abs(ours[fin] - sk[fin]) / sk[fin]))
    print(f"max relative difference of the surfaces = {rel:.3g}; "
          f"same unreachable cells: {same_inf}")  # fmt: skip


if __name__ == "__main__":
    main()
