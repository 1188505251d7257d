"""Square and hexagon grids in a metric CRS, and aggregation of points onto them.

Cells are addressed by (row, col). A square grid is anchored at the extent's lower-left corner:
cell (r, c) covers [xmin + c·s, xmin + (c+1)·s) × [ymin + r·s, ymin + (r+1)·s).
A hexagon grid is "pointy-top": ``cell_size`` is the distance between the centres of two
adjacent cells (= the flat-to-flat width); rows are s·√3/2 apart and odd rows are shifted
right by s/2; the first centre sits on the extent's lower-left corner. Every point goes to the
cell whose centre is nearest (the hexagons are the Voronoi cells of that lattice).

Which cells are kept: with an area of interest (AOI polygon, or an explicit extent) every cell
whose centre lies inside it or on its boundary (for a hexagon grid over an extent, also the
cells whose centre is up to half a cell beyond its right/top edge, so that no point inside the
extent is lost), including empty ones (they are part of the
statistics); without one, only cells holding at least one point (as ArcGIS Optimized Hot Spot
Analysis does when no bounding polygon is given). ``keep_empty`` overrides that choice. Points
that fall in no kept cell (outside the extent, or near an AOI edge in a cell whose centre is
outside) are counted in ``n_points_dropped``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geomon.errors import SpatialError

log = logging.getLogger(__name__)

GridKind = Literal["square", "hex"]
SQRT3 = math.sqrt(3.0)
Extent = tuple[float, float, float, float]


@dataclass(frozen=True)
class GridSpec:
    """What grid to build: kind, cell size in metres, and optionally a fixed extent."""

    kind: GridKind
    cell_size: float
    extent: Extent | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("square", "hex"):
            raise SpatialError(f"unknown grid kind {self.kind!r} (square or hex)")
        if not (self.cell_size > 0 and math.isfinite(self.cell_size)):
            raise SpatialError(f"cell size must be positive metres, not {self.cell_size}")
        if self.extent is not None:
            xmin, ymin, xmax, ymax = self.extent
            if not (xmin < xmax and ymin < ymax):
                raise SpatialError(f"empty extent {self.extent}")


@dataclass(frozen=True)
class GridCells:
    """The kept cells of a grid: ids, centres, and the aggregated value of each cell."""

    spec: GridSpec
    origin: tuple[float, float]
    n_cols: int
    row: np.ndarray
    col: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    values: np.ndarray
    n_points_used: int
    n_points_dropped: int
    meta: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def ids(self) -> np.ndarray:
        """Stable cell ids: row · n_cols + col (unique within one grid definition)."""
        return self.row.astype(np.int64) * self.n_cols + self.col

    def __len__(self) -> int:
        return len(self.cx)

    def polygons(self) -> np.ndarray:
        """Cell outlines as a numpy array of shapely polygons (built on demand)."""
        return cell_polygons(self.spec.kind, self.spec.cell_size, self.cx, self.cy)


def cell_polygons(kind: GridKind, s: float, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Vectorised square or pointy-top hexagon outlines around the given centres."""
    if kind == "square":
        dx = np.array([-0.5, 0.5, 0.5, -0.5, -0.5]) * s
        dy = np.array([-0.5, -0.5, 0.5, 0.5, -0.5]) * s
    else:
        radius = s / SQRT3
        angles = np.deg2rad(np.array([30, 90, 150, 210, 270, 330, 30], dtype=float))
        dx, dy = radius * np.cos(angles), radius * np.sin(angles)
    coords = np.stack([cx[:, None] + dx[None, :], cy[:, None] + dy[None, :]], axis=-1)
    return shapely.polygons(coords)


def _lattice(spec: GridSpec, extent: Extent) -> tuple[np.ndarray, np.ndarray, int]:
    """(row, col) of every cell whose centre lies in the extent (hex: a half cell beyond)."""
    xmin, ymin, xmax, ymax = extent
    s = spec.cell_size
    if spec.kind == "square":
        n_cols = max(1, math.ceil((xmax - xmin) / s - 1e-9))
        n_rows = max(1, math.ceil((ymax - ymin) / s - 1e-9))
        rr, cc = np.divmod(np.arange(n_rows * n_cols), n_cols)
        return rr, cc, n_cols
    h = s * SQRT3 / 2
    n_cols = math.floor((xmax - xmin) / s) + 2
    n_rows = math.floor((ymax - ymin) / h) + 2
    rr, cc = np.divmod(np.arange(n_rows * n_cols), n_cols)
    cx, cy = _hex_centres(rr, cc, s, xmin, ymin)
    keep = (cx <= xmax + s / 2) & (cy <= ymax + s / SQRT3)
    return rr[keep], cc[keep], n_cols


def _hex_centres(rr: np.ndarray, cc: np.ndarray, s: float, x0: float, y0: float):
    return x0 + (cc + 0.5 * (rr % 2)) * s, y0 + rr * (s * SQRT3 / 2)


def centres(spec: GridSpec, origin: tuple[float, float], rr: np.ndarray, cc: np.ndarray):
    """Cell centres for (row, col) index arrays."""
    x0, y0 = origin
    s = spec.cell_size
    if spec.kind == "square":
        return x0 + (cc + 0.5) * s, y0 + (rr + 0.5) * s
    return _hex_centres(rr, cc, s, x0, y0)


def locate(spec: GridSpec, origin: tuple[float, float], x: np.ndarray, y: np.ndarray):
    """(row, col) of the cell holding each point (square: half-open; hex: nearest centre)."""
    x0, y0 = origin
    s = spec.cell_size
    if spec.kind == "square":
        return np.floor((y - y0) / s).astype(np.int64), np.floor((x - x0) / s).astype(np.int64)
    h = s * SQRT3 / 2
    # Two rectangular sub-lattices (even rows, odd rows); the nearer candidate wins.
    ja = np.rint((y - y0) / (2 * h))
    ia = np.rint((x - x0) / s)
    jb = np.rint((y - y0 - h) / (2 * h))
    ib = np.rint((x - x0 - s / 2) / s)
    da = (x - x0 - ia * s) ** 2 + (y - y0 - ja * 2 * h) ** 2
    db = (x - x0 - s / 2 - ib * s) ** 2 + (y - y0 - h - jb * 2 * h) ** 2
    use_b = db < da
    row = np.where(use_b, 2 * jb + 1, 2 * ja).astype(np.int64)
    col = np.where(use_b, ib, ia).astype(np.int64)
    return row, col


def aggregate_to_grid(
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray | None,
    spec: GridSpec,
    aoi: BaseGeometry | None = None,
    *,
    keep_empty: bool | None = None,
) -> GridCells:
    """Count points (or sum ``values``) per cell; see the module docstring for kept cells."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if values is None else np.asarray(values, dtype=float)
    if not (x.shape == y.shape == w.shape):
        raise SpatialError("x, y and values must have the same length")
    finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(w)
    extent = _extent(spec, aoi, x[finite], y[finite])
    if keep_empty is None:
        keep_empty = aoi is not None or spec.extent is not None
    rr, cc, n_cols = _lattice(spec, extent)
    origin = (extent[0], extent[1])
    cx, cy = centres(spec, origin, rr, cc)
    if aoi is not None:
        inside = shapely.intersects_xy(aoi, cx, cy)
        rr, cc, cx, cy = rr[inside], cc[inside], cx[inside], cy[inside]
    cell_key = rr.astype(np.int64) * n_cols + cc
    prow, pcol = locate(spec, origin, x, y)
    pkey = np.where((pcol >= 0) & (pcol < n_cols) & (prow >= 0), prow * n_cols + pcol, -1)
    sums, counts, hit = _accumulate(cell_key, np.where(finite, pkey, -1), w)
    keep = np.ones(len(cell_key), bool) if keep_empty else counts > 0
    if not keep.any():
        raise SpatialError("no grid cell to analyse: no point falls inside the extent")
    n_used = int(hit.sum())
    log.debug("grid %s %.0f m: %d cells, %d points", spec.kind, spec.cell_size, keep.sum(), n_used)
    return GridCells(
        spec=spec,
        origin=origin,
        n_cols=n_cols,
        row=rr[keep],
        col=cc[keep],
        cx=cx[keep],
        cy=cy[keep],
        values=sums[keep],
        n_points_used=n_used,
        n_points_dropped=int(len(x) - n_used),
        meta={"extent": ",".join(f"{v:.3f}" for v in extent)},
    )


def _accumulate(cell_key: np.ndarray, pkey: np.ndarray, w: np.ndarray):
    """Per-cell sums and counts of points whose key is one of the kept cells' keys."""
    order = np.argsort(cell_key)
    pos = np.clip(np.searchsorted(cell_key[order], pkey), 0, max(len(order) - 1, 0))
    hit = pkey >= 0
    hit &= cell_key[order][pos] == pkey if len(order) else False
    idx = order[pos[hit]]
    sums = np.bincount(idx, weights=w[hit], minlength=len(cell_key))
    return sums, np.bincount(idx, minlength=len(cell_key)), hit


def _extent(spec: GridSpec, aoi: BaseGeometry | None, x: np.ndarray, y: np.ndarray) -> Extent:
    if spec.extent is not None:
        return tuple(float(v) for v in spec.extent)  # type: ignore[return-value]
    if aoi is not None:
        xmin, ymin, xmax, ymax = aoi.bounds
        return float(xmin), float(ymin), float(xmax), float(ymax)
    if len(x) == 0:
        raise SpatialError("no points and no extent: cannot build a grid")
    xmin, ymin, xmax, ymax = float(x.min()), float(y.min()), float(x.max()), float(y.max())
    # A degenerate (single-point/line) extent still needs one cell.
    s = spec.cell_size
    return xmin, ymin, max(xmax, xmin + s) + 1e-6 * s, max(ymax, ymin + s) + 1e-6 * s
