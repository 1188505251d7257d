"""Least-cost paths and corridors on a friction raster (pure: arrays in, arrays/shapely out).

* A path is traced from the backlinks of :func:`geomon.spatial.costdist.accumulated_cost`.
* A corridor is ``acc_A + acc_B`` (the cost of the best A→B route forced through each cell),
  cut at a percentile of its finite cells or at ``min × (1 + within_pct/100)``.
* Alternatives: corridor k+1 is computed on a copy of the cost raster in which the cells of
  corridors 1..k, grown by ``margin_m`` metres, are made impassable — except within
  ``endpoint_radius_m`` of the A and B cells, where every route has to converge anyway. So no
  cell of corridor k+1 lies within ``margin_m`` of an earlier corridor outside those discs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from scipy import ndimage
from shapely.geometry import LineString, mapping

from geomon.errors import SpatialError
from geomon.spatial import raster_io
from geomon.spatial.costdist import (
    BACK_NONE,
    BACK_SOURCE,
    OFFSETS,
    CostDistance,
    accumulated_cost,
    cell_centre,
    sampling_pair,
)

log = logging.getLogger(__name__)

Cells = np.ndarray | Sequence[tuple[int, int]]


@dataclass(frozen=True)
class LeastCostPath:
    """Cells from source to target, its accumulated cost (cost × metres) and length."""

    rows: np.ndarray
    cols: np.ndarray
    total_cost: float
    length_m: float
    line: LineString | None = None  # cell centres in the raster CRS (needs a transform)

    @property
    def n_cells(self) -> int:
        return int(self.rows.size)

    def summary(self) -> dict[str, float | int]:
        return {"total_cost": self.total_cost, "n_cells": self.n_cells, "length_m": self.length_m}


@dataclass(frozen=True)
class Corridor:
    """A boolean corridor mask with the rule and threshold that cut it."""

    mask: np.ndarray
    threshold: float
    min_cost: float
    rule: str  # "percentile=P" or "within_pct=X"
    path: LeastCostPath | None = None
    blocked: np.ndarray | None = field(default=None, repr=False)  # cells barred for this one

    @property
    def n_cells(self) -> int:
        return int(np.count_nonzero(self.mask))

    def summary(self) -> dict[str, float | int | str]:
        out: dict[str, float | int | str] = {
            "rule": self.rule,
            "threshold": self.threshold,
            "min_cost": self.min_cost,
            "n_cells": self.n_cells,
        }
        if self.path is not None:
            out.update({f"path_{k}": v for k, v in self.path.summary().items()})
        return out


# --------------------------------------------------------------------------- paths


def trace_path(
    cd: CostDistance, target: tuple[int, int], transform: Affine | None = None
) -> LeastCostPath:
    """Follow the backlinks from ``target`` back to a source; cells are returned source first."""
    back = cd.backlink
    r, c = int(target[0]), int(target[1])
    if not (0 <= r < back.shape[0] and 0 <= c < back.shape[1]):
        raise SpatialError(f"target cell {r},{c} is outside the raster")
    if back[r, c] == BACK_NONE:
        raise SpatialError(f"target cell {r},{c} is unreachable from the sources")
    rows, cols = [r], [c]
    dy, dx = cd.sampling
    diag = math.hypot(dy, dx)
    length = 0.0
    for _ in range(back.size):
        k = int(back[r, c])
        if k == BACK_SOURCE:
            break
        dr, dc = OFFSETS[k]
        length += diag if (dr and dc) else (dy if dr else dx)
        r, c = r + dr, c + dc
        rows.append(r)
        cols.append(c)
    else:  # pragma: no cover - a cycle would be an engine bug
        raise SpatialError("backlinks form a cycle")
    rr, cc = np.asarray(rows[::-1]), np.asarray(cols[::-1])
    total = float(cd.accumulated[target[0], target[1]])
    line = _path_line(rr, cc, transform) if transform is not None else None
    return LeastCostPath(rr, cc, total, length, line)


def _path_line(rows: np.ndarray, cols: np.ndarray, transform: Affine) -> LineString:
    pts = [cell_centre(transform, int(r), int(c)) for r, c in zip(rows, cols, strict=True)]
    if len(pts) == 1:
        pts = pts * 2
    return LineString(pts)


def least_cost_path(
    cost: np.ndarray,
    source: Cells,
    target: tuple[int, int],
    *,
    sampling: float | tuple[float, float] = 1.0,
    nodata: float | None = None,
    transform: Affine | None = None,
) -> LeastCostPath:
    """Least-cost path from the source cell(s) to ``target`` (search stops at the target)."""
    cd = accumulated_cost(cost, source, sampling=sampling, nodata=nodata, stop_at=target)
    return trace_path(cd, target, transform)


def path_feature(path: LeastCostPath, **properties: object) -> dict[str, object]:
    """A GeoJSON Feature (raster CRS coordinates) of a traced path with its summary."""
    if path.line is None:
        raise SpatialError("path has no geometry: trace it with a transform")
    return {
        "type": "Feature",
        "geometry": mapping(path.line),
        "properties": {**path.summary(), **properties},
    }


# --------------------------------------------------------------------------- corridors


def corridor_surface(acc_a: np.ndarray, acc_b: np.ndarray) -> np.ndarray:
    """Cost of the best A→B route constrained through each cell (+inf if none)."""
    return np.add(acc_a, acc_b)


def cut_corridor(
    total: np.ndarray, *, percentile: float | None = None, within_pct: float | None = None
) -> Corridor:
    """Cells of ``total`` at or below a percentile of its finite cells, or within x % of min."""
    if (percentile is None) == (within_pct is None):
        raise SpatialError("give exactly one of percentile or within_pct")
    finite = total[np.isfinite(total)]
    if finite.size == 0:
        raise SpatialError("A and B are not connected: no finite corridor cell")
    lo = float(finite.min())
    if percentile is not None:
        if not 0 < percentile <= 100:
            raise SpatialError(f"percentile must be in (0, 100], got {percentile}")
        thr, rule = _percentile_inplace(finite, percentile), f"percentile={percentile:g}"
    else:
        assert within_pct is not None
        if within_pct < 0:
            raise SpatialError(f"within_pct must be ≥ 0, got {within_pct}")
        thr, rule = lo * (1.0 + within_pct / 100.0), f"within_pct={within_pct:g}"
    # relative slack so cells on the optimum (equal up to rounding) are never lost
    mask = total <= thr + 1e-12 * max(abs(thr), 1.0)
    return Corridor(mask, thr, lo, rule)


def _percentile_inplace(values: np.ndarray, q: float) -> float:
    """numpy's default ('linear') percentile, partitioning ``values`` in place (no copy)."""
    pos = (values.size - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, values.size - 1)
    values.partition((lo, hi) if hi != lo else lo)
    return float(values[lo] + (pos - lo) * (values[hi] - values[lo]))


def _two_surfaces(
    cost: np.ndarray, a: Cells, b: Cells, workers: int, **kw: Any
) -> tuple[CostDistance, CostDistance]:
    """Surfaces from A and from B; with ``workers`` ≥ 2 both run at once (numba drops the GIL)."""
    if workers < 2:
        return accumulated_cost(cost, a, **kw), accumulated_cost(cost, b, **kw)
    with ThreadPoolExecutor(max_workers=2) as pool:
        fa = pool.submit(accumulated_cost, cost, a, **kw)
        fb = pool.submit(accumulated_cost, cost, b, **kw)
        return fa.result(), fb.result()


def corridor(
    cost: np.ndarray,
    a_cells: Cells,
    b_cells: Cells,
    *,
    sampling: float | tuple[float, float] = 1.0,
    nodata: float | None = None,
    percentile: float | None = None,
    within_pct: float | None = None,
    transform: Affine | None = None,
    workers: int = 2,
) -> Corridor:
    """Corridor between places A and B (each one or more cells) with its least-cost path.

    ``workers=2`` computes the two surfaces in parallel threads.
    """
    cda, cdb = _two_surfaces(cost, a_cells, b_cells, workers, sampling=sampling, nodata=nodata)
    return _corridor_from(cda, cdb, percentile, within_pct, transform, consume_b=True)


def _corridor_from(
    cda: CostDistance,
    cdb: CostDistance,
    percentile: float | None,
    within_pct: float | None,
    transform: Affine | None,
    consume_b: bool = False,
) -> Corridor:
    """Cut the corridor and trace its path; ``consume_b`` sums into B's array (saves memory)."""
    b_acc = cda.accumulated[cdb.sources[:, 0], cdb.sources[:, 1]]
    best = cdb.sources[int(np.argmin(b_acc))]
    if consume_b:
        total = np.add(cdb.accumulated, cda.accumulated, out=cdb.accumulated)
    else:
        total = corridor_surface(cda.accumulated, cdb.accumulated)
    cut = cut_corridor(total, percentile=percentile, within_pct=within_pct)
    del total
    path = trace_path(cda, (int(best[0]), int(best[1])), transform)
    return Corridor(cut.mask, cut.threshold, cut.min_cost, cut.rule, path)


def alternative_corridors(
    cost: np.ndarray,
    a_cells: Cells,
    b_cells: Cells,
    *,
    k: int = 3,
    margin_m: float,
    endpoint_radius_m: float | None = None,
    sampling: float | tuple[float, float] = 1.0,
    nodata: float | None = None,
    percentile: float | None = None,
    within_pct: float | None = None,
    transform: Affine | None = None,
) -> list[Corridor]:
    """Up to ``k`` corridors, each avoiding the earlier ones by ``margin_m`` (module docstring).

    ``endpoint_radius_m`` defaults to 3 × ``margin_m``. Fewer than ``k`` come back when the
    barred zones disconnect A from B.
    """
    if k < 1 or margin_m < 0:
        raise SpatialError("need k ≥ 1 and margin_m ≥ 0")
    radius = 3.0 * margin_m if endpoint_radius_m is None else endpoint_radius_m
    dy, dx = sampling_pair(sampling)
    work = np.array(cost, dtype=np.float64)  # a copy: barred cells are set to +inf
    a = np.asarray(a_cells, dtype=np.int64).reshape(-1, 2)
    b = np.asarray(b_cells, dtype=np.int64).reshape(-1, 2)
    near_ends = _within(_cells_mask(work.shape, np.vstack((a, b))), radius, (dy, dx))
    out: list[Corridor] = []
    barred = np.zeros(work.shape, dtype=bool)
    for rank in range(k):
        try:
            c = corridor(
                work, a, b, sampling=(dy, dx), nodata=nodata, percentile=percentile,
                within_pct=within_pct, transform=transform,
            )  # fmt: skip
        except SpatialError as exc:
            log.info("alternative corridor %d not found: %s", rank + 1, exc)
            break
        out.append(Corridor(c.mask, c.threshold, c.min_cost, c.rule, c.path, barred.copy()))
        grow = _within(c.mask, margin_m, (dy, dx)) & ~near_ends
        barred |= grow
        work[grow] = np.inf
    return out


def _cells_mask(shape: tuple[int, ...], cells: np.ndarray) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    m[cells[:, 0], cells[:, 1]] = True
    return m


def _within(mask: np.ndarray, dist_m: float, sampling: tuple[float, float]) -> np.ndarray:
    """Cells whose centre is within ``dist_m`` of a True cell's centre (Euclidean)."""
    if not mask.any():
        return mask.copy()
    d = ndimage.distance_transform_edt(~mask, sampling=sampling)
    return np.asarray(d <= dist_m)


@dataclass(frozen=True)
class PairCorridor:
    """Corridor between place ``i`` of set A and place ``j`` of set B."""

    i: int
    j: int
    corridor: Corridor


def corridors_between(
    cost: np.ndarray,
    places_a: Sequence[Cells],
    places_b: Sequence[Cells],
    *,
    sampling: float | tuple[float, float] = 1.0,
    nodata: float | None = None,
    percentile: float | None = None,
    within_pct: float | None = None,
    transform: Affine | None = None,
) -> list[PairCorridor]:
    """Corridors for every (a, b) pair; each place's surface is computed once (n + m runs).

    Pairs that are not connected are skipped with a log line.
    """
    accs_b = [accumulated_cost(cost, p, sampling=sampling, nodata=nodata) for p in places_b]
    out: list[PairCorridor] = []
    for i, pa in enumerate(places_a):
        cda = accumulated_cost(cost, pa, sampling=sampling, nodata=nodata)
        for j, cdb in enumerate(accs_b):
            try:
                c = _corridor_from(cda, cdb, percentile, within_pct, transform)
            except SpatialError as exc:
                log.info("no corridor between A[%d] and B[%d]: %s", i, j, exc)
                continue
            out.append(PairCorridor(i, j, c))
    return out


def corridor_polygons(mask: np.ndarray, transform: Affine) -> list[object]:
    """The corridor mask as shapely polygons in the raster CRS."""
    return raster_io.polygonize(mask, transform)
