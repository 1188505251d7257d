"""Accumulated cost distance over a friction raster (8-neighbour Dijkstra, numba).

Step rule (ArcGIS Cost Distance / GRASS r.cost): moving from cell a to neighbour b costs
``L * (c_a + c_b) / 2`` with ``L`` the cell height, width or diagonal. Impassable cells (NaN,
±inf, negative-free ``nodata``) are never entered, and a diagonal step is forbidden when *both*
cells it squeezes between are impassable (no slipping through a wall touching at a corner).

The result is the accumulated cost (float64, +inf where unreachable) and a backlink array
(int8): ``0..7`` = direction of the predecessor cell in :data:`OFFSETS`, :data:`BACK_SOURCE`
for a source cell, :data:`BACK_NONE` where unreachable or impassable.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from affine import Affine
from numba import njit
from shapely.geometry.base import BaseGeometry

from geomon.errors import SpatialError

log = logging.getLogger(__name__)

#: neighbour offsets (drow, dcol); direction k and 7 - k are opposite.
OFFSETS: tuple[tuple[int, int], ...] = (
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, -1),
    (0, 1),
    (1, -1),
    (1, 0),
    (1, 1),
)
BACK_SOURCE = -1
BACK_NONE = -2
_DR = np.array([o[0] for o in OFFSETS], dtype=np.int64)
_DC = np.array([o[1] for o in OFFSETS], dtype=np.int64)


@dataclass(frozen=True)
class CostDistance:
    """Accumulated cost (cost × metres, +inf unreachable) and int8 backlinks."""

    accumulated: np.ndarray
    backlink: np.ndarray
    sampling: tuple[float, float]
    sources: np.ndarray  # (n, 2) int rows/cols actually used as sources


# --------------------------------------------------------------------------- numba kernel


# The queue is a 4-ary min-heap stored interleaved, [key0, idx0, key1, idx1, ...], in one float64
# array (flat indices are exact below 2**53): the four children of a node are 64 contiguous
# bytes, which measured ~1.4x faster than a binary heap over separate key/index arrays.


@njit(cache=True, nogil=True)
def _heap_push(h, n, key, val):
    i = n
    while i > 0:
        p = (i - 1) >> 2
        if h[2 * p] <= key:
            break
        h[2 * i] = h[2 * p]
        h[2 * i + 1] = h[2 * p + 1]
        i = p
    h[2 * i] = key
    h[2 * i + 1] = val
    return n + 1


@njit(cache=True, nogil=True)
def _heap_pop(h, n):
    """Remove the root (the caller has read it); returns the new size."""
    n -= 1
    key = h[2 * n]
    val = h[2 * n + 1]
    i = 0
    while True:
        child = 4 * i + 1
        if child >= n:
            break
        best = child
        bk = h[2 * child]
        last = child + 4 if child + 4 < n else n
        for q in range(child + 1, last):
            kq = h[2 * q]
            if kq < bk:
                best = q
                bk = kq
        if bk >= key:
            break
        h[2 * i] = bk
        h[2 * i + 1] = h[2 * best + 1]
        i = best
    h[2 * i] = key
    h[2 * i + 1] = val
    return n


@njit(cache=True, nogil=True, inline="always")
def _passable(c, nodata, has_nodata):
    return c < np.inf and c >= 0.0 and not (has_nodata and c == nodata)


@njit(cache=True, nogil=True)
def _dijkstra(cost, nodata, has_nodata, dy, dx, src, acc, back, dr, dc, stop, max_cost):
    """Lazy-deletion 4-ary-heap Dijkstra on the flat grid; fills ``acc`` and ``back``."""
    nrows, ncols = cost.shape
    cf = cost.ravel()
    af = acc.ravel()
    bf = back.ravel()
    half = np.empty(8, np.float64)
    off = np.empty(8, np.int64)
    for k in range(8):
        if dr[k] != 0 and dc[k] != 0:
            half[k] = 0.5 * math.sqrt(dx * dx + dy * dy)
        elif dr[k] != 0:
            half[k] = 0.5 * dy
        else:
            half[k] = 0.5 * dx
        off[k] = dr[k] * ncols + dc[k]
    cap = 1024
    while cap < 4 * src.shape[0]:
        cap *= 2
    h = np.empty(2 * cap, np.float64)
    n = 0
    for s in range(src.shape[0]):
        i = src[s]
        af[i] = 0.0
        bf[i] = -1
        n = _heap_push(h, n, 0.0, np.float64(i))
    while n > 0:
        d = h[0]
        i = np.int64(h[1])
        n = _heap_pop(h, n)
        if d > af[i]:
            continue  # stale entry (lazy deletion)
        if i == stop or d > max_cost:
            break
        r = i // ncols
        c = i - r * ncols
        ci = np.float64(cf[i])  # float32 rasters still sum in float64
        for k in range(8):
            rr = r + dr[k]
            cc = c + dc[k]
            if rr < 0 or rr >= nrows or cc < 0 or cc >= ncols:
                continue
            j = i + off[k]
            cj = np.float64(cf[j])
            if not _passable(cj, nodata, has_nodata):
                continue
            if (
                dr[k] != 0
                and dc[k] != 0
                and not _passable(cf[i + dr[k] * ncols], nodata, has_nodata)
                and not _passable(cf[i + dc[k]], nodata, has_nodata)
            ):
                continue  # corner squeeze between two impassable cells
            nd = d + half[k] * (ci + cj)
            if nd < af[j]:
                af[j] = nd
                bf[j] = 7 - k
                if 2 * n == h.shape[0]:
                    h = np.concatenate((h, np.empty(2 * n, np.float64)))
                n = _heap_push(h, n, nd, np.float64(j))
    return n


# --------------------------------------------------------------------------- public API


def passable_mask(cost: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """True where a cell may be entered: finite, ≥ 0 and not ``nodata``."""
    ok = np.isfinite(cost) & (cost >= 0)
    if nodata is not None and not np.isnan(nodata):
        ok &= cost != nodata
    return ok


def accumulated_cost(
    cost: np.ndarray,
    sources: Sequence[tuple[int, int]] | np.ndarray,
    *,
    sampling: float | tuple[float, float] = 1.0,
    nodata: float | None = None,
    stop_at: tuple[int, int] | None = None,
    max_cost: float = math.inf,
) -> CostDistance:
    """Accumulated cost from the source cells (row, col) over ``cost`` (relative cost/metre).

    ``sampling`` is the cell size, or (cell height, cell width) in metres. With ``stop_at`` the
    search ends as soon as that cell is settled (cells still in the queue keep provisional
    values); with ``max_cost`` cells beyond it keep provisional or +inf values.
    """
    cost = _check_cost(cost, nodata)
    dy, dx = sampling_pair(sampling)
    src = _source_indices(cost, sources, nodata)
    acc = np.full(cost.shape, np.inf, dtype=np.float64)
    back = np.full(cost.shape, BACK_NONE, dtype=np.int8)
    stop = -1 if stop_at is None else _flat_index(cost.shape, stop_at)
    nd = float(nodata) if nodata is not None else 0.0
    _dijkstra(cost, nd, nodata is not None, dy, dx, src, acc, back, _DR, _DC, stop, max_cost)
    rows, cols = np.divmod(src, cost.shape[1])
    return CostDistance(acc, back, (dy, dx), np.column_stack((rows, cols)))


def _check_cost(cost: np.ndarray, nodata: float | None) -> np.ndarray:
    cost = np.asarray(cost)
    if cost.ndim != 2 or cost.size == 0:
        raise SpatialError(f"cost raster must be a non-empty 2-D array, got shape {cost.shape}")
    if cost.dtype not in (np.float32, np.float64):
        cost = cost.astype(np.float64)
    cost = np.ascontiguousarray(cost)
    neg = cost < 0
    if nodata is not None:
        neg &= cost != nodata
    if neg.any():
        raise SpatialError("cost raster has negative values (use nodata, NaN or inf to block)")
    return cost


def sampling_pair(sampling: float | tuple[float, float]) -> tuple[float, float]:
    """(cell height, cell width) in metres from a cell size or a pair; checked positive."""
    if isinstance(sampling, tuple | list):
        dy, dx = abs(float(sampling[0])), abs(float(sampling[1]))
    else:
        dy = dx = abs(float(sampling))
    if not (dy > 0 and dx > 0 and math.isfinite(dy) and math.isfinite(dx)):
        raise SpatialError(f"cell size must be positive and finite, got {sampling!r}")
    return dy, dx


def _flat_index(shape: tuple[int, ...], rc: tuple[int, int]) -> int:
    r, c = int(rc[0]), int(rc[1])
    if not (0 <= r < shape[0] and 0 <= c < shape[1]):
        raise SpatialError(f"cell {r},{c} is outside the raster ({shape[0]}×{shape[1]})")
    return r * shape[1] + c


def _source_indices(
    cost: np.ndarray, sources: Iterable[tuple[int, int]] | np.ndarray, nodata: float | None
) -> np.ndarray:
    """Flat indices of the passable source cells; impassable ones are dropped (with a log)."""
    rc = np.asarray(list(sources) if not isinstance(sources, np.ndarray) else sources)
    if rc.size == 0:
        raise SpatialError("no source cells given")
    rc = rc.reshape(-1, 2).astype(np.int64)
    idx = np.unique([_flat_index(cost.shape, (r, c)) for r, c in rc])
    ok = passable_mask(cost.ravel()[idx], nodata)
    if not ok.any():
        raise SpatialError("every source cell is impassable (nodata, NaN or inf)")
    if not ok.all():
        log.info("dropped %d impassable source cells of %d", int((~ok).sum()), len(idx))
    return np.ascontiguousarray(idx[ok])


# --------------------------------------------------------------------------- coordinates → cells


def cells_for_points(
    xy: Sequence[tuple[float, float]], transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    """(row, col) of the cells containing each map point; outside the raster is an error."""
    out = []
    for x, y in xy:
        col, row = _col_row(transform, np.float64(x), np.float64(y))
        r, c = math.floor(row), math.floor(col)
        if not (0 <= r < shape[0] and 0 <= c < shape[1]):
            raise SpatialError(f"point {x},{y} lies outside the raster")
        out.append((r, c))
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def cells_along_line(line: BaseGeometry, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """(row, col) of the cells a (multi)line passes through, sampled at ≤ ¼ cell spacing."""
    if line.is_empty:
        raise SpatialError("source line is empty")
    step = min(abs(transform.a), abs(transform.e)) / 4.0
    dense = shapely.segmentize(line, step)
    xy = shapely.get_coordinates(dense)
    cols, rows = _col_row(transform, xy[:, 0], xy[:, 1])
    rc = np.column_stack((np.floor(rows), np.floor(cols))).astype(np.int64)
    inside = (rc[:, 0] >= 0) & (rc[:, 0] < shape[0]) & (rc[:, 1] >= 0) & (rc[:, 1] < shape[1])
    if not inside.any():
        raise SpatialError("source line lies entirely outside the raster")
    return np.unique(rc[inside], axis=0)


def _col_row(transform: Affine, x: Any, y: Any) -> tuple[Any, Any]:
    """Fractional (col, row) of map coordinates on a north-up grid."""
    if transform.b != 0 or transform.d != 0:
        raise SpatialError("rotated rasters are not supported")
    return (x - transform.c) / transform.a, (y - transform.f) / transform.e


def cell_centre(transform: Affine, row: int, col: int) -> tuple[float, float]:
    """Map coordinates of a cell centre."""
    x = transform.c + (col + 0.5) * transform.a + (row + 0.5) * transform.b
    y = transform.f + (col + 0.5) * transform.d + (row + 0.5) * transform.e
    return float(x), float(y)
