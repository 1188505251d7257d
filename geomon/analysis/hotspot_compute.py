"""The engine step of a stored hotspot run: metric-CRS arrays in, cell columns (or a raster) out.

Pure (numpy/shapely via geomon.spatial); what each kind stores per cell:

- gistar: value (count or sum), z, p, gi_bin, gi_bin_fdr (with ``fdr``), p_sim (permutations);
- ehsa: value (total over all steps), z/p/gi_bin of the last step, trend_z/trend_p
  (Mann–Kendall on the cell's z series) and category (the pattern name);
- dbscan: one row per cluster (cell_id = label), the convex hull, value = point count;
- kde: no cells, a raster (GeoTIFF + ``surfaces`` row).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from geomon.analysis.hotspot_params import MAX_LATTICE_CELLS, MAX_RASTER_CELLS, HotspotParams
from geomon.errors import InvalidRequest, SpatialError
from geomon.spatial.clusters import cluster_hulls, dbscan
from geomon.spatial.ehsa import emerging_hotspots
from geomon.spatial.gistar import GiStarResult, gistar
from geomon.spatial.gistar_grid import band_summary, gistar_grid
from geomon.spatial.grid import GridCells, GridSpec, aggregate_to_grid, locate
from geomon.spatial.kde import kernel_density
from geomon.spatial.raster_io import Grid
from geomon.spatial.weights import Weights, default_distance_band, distance_band, knn
from geomon.store.hotspot_inputs import LoadedPoints

WEEK_S = 7 * 86400


@dataclass
class Computed:
    ids: np.ndarray
    geoms: Callable[[], np.ndarray]
    columns: dict[str, Any]
    raster: Grid | None = None
    derived: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _check_lattice(
    p: HotspotParams, x: np.ndarray, y: np.ndarray, aoi_m: shapely.Geometry | None
) -> None:
    if aoi_m is not None:
        xmin, ymin, xmax, ymax = aoi_m.bounds
    elif len(x):
        xmin, ymin, xmax, ymax = x.min(), y.min(), x.max(), y.max()
    else:
        raise SpatialError("no points to analyse")
    n = ((xmax - xmin) / p.cell_size + 2) * ((ymax - ymin) / (p.cell_size * 0.866) + 2)
    if n > MAX_LATTICE_CELLS:
        raise InvalidRequest(
            f"a {p.cell_size:g} m grid over this area has ~{n:,.0f} cells "
            f"(at most {MAX_LATTICE_CELLS:,}): use a larger cell size"
        )


def grid_and_weights(
    p: HotspotParams,
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray | None,
    aoi_m: shapely.Geometry | None,
) -> tuple[GridCells, Weights]:
    _check_lattice(p, x, y, aoi_m)
    cells = aggregate_to_grid(x, y, values, GridSpec(p.grid, p.cell_size), aoi=aoi_m)
    if p.knn is not None:
        w = knn(cells.cx, cells.cy, p.knn)
    else:
        w = distance_band(cells.cx, cells.cy, p.distance_band)
    return cells, w


def _grid_derived(cells: GridCells, w: Weights) -> dict[str, Any]:
    return {
        "weights": w.summary(),
        "grid_extent": cells.meta.get("extent"),
        "n_points_used": cells.n_points_used,
        "n_points_dropped": cells.n_points_dropped,
    }


def _gistar(p: HotspotParams, x, y, pts: LoadedPoints, aoi_m) -> Computed:
    if p.grid == "square" and p.knn is None and not p.permutations:
        return _gistar_square(p, x, y, pts, aoi_m)
    cells, w = grid_and_weights(p, x, y, pts.values, aoi_m)
    res = gistar(cells.values, w, fdr=p.fdr, permutations=p.permutations, seed=p.seed)
    return _gistar_computed(cells, res, _grid_derived(cells, w))


def _gistar_square(p: HotspotParams, x, y, pts: LoadedPoints, aoi_m) -> Computed:
    """Square grid, distance band: neighbourhood sums by stencil, no weights matrix."""
    _check_lattice(p, x, y, aoi_m)
    cells = aggregate_to_grid(x, y, pts.values, GridSpec(p.grid, p.cell_size), aoi=aoi_m)
    band = p.distance_band or default_distance_band(cells.cx, cells.cy)
    res = gistar_grid(cells.values, cells.row, cells.col, p.cell_size, band, fdr=p.fdr)
    derived = {
        "weights": band_summary(res.n_neighbours, band),
        "grid_extent": cells.meta.get("extent"),
        "n_points_used": cells.n_points_used,
        "n_points_dropped": cells.n_points_dropped,
    }
    return _gistar_computed(cells, res, derived)


def _gistar_computed(cells: GridCells, res: GiStarResult, derived: dict[str, Any]) -> Computed:
    cols = {
        "value": cells.values,
        "z": res.z,
        "p": res.p,
        "gi_bin": res.gi_bin,
        "gi_bin_fdr": res.gi_bin_fdr,
        "p_sim": res.p_sim,
    }
    summary = {"hot": int((res.gi_bin > 0).sum()), "cold": int((res.gi_bin < 0).sum())}
    return Computed(cells.ids, cells.polygons, cols, derived=derived, summary=summary)


def time_steps(
    epoch_s: np.ndarray, step: str, since: float | None, until: float
) -> tuple[np.ndarray, int]:
    """Step index of each time (months or weeks from the window start) and the step count."""
    start = since if since is not None else (float(epoch_s.min()) if len(epoch_s) else until)
    if step == "week":
        idx = np.floor((epoch_s - start) / WEEK_S).astype(np.int64)
        return idx, max(1, math.ceil((until - start) / WEEK_S))

    def month(t: np.ndarray) -> np.ndarray:
        return t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)

    m0 = int(month(np.array([start]))[0])
    m_last = int(month(np.array([until - 1e-6]))[0])
    return month(epoch_s) - m0, m_last - m0 + 1


def build_cube(cells: GridCells, x, y, values, step_idx: np.ndarray, n_steps: int) -> np.ndarray:
    """cells × steps sums (counts) of the points falling in kept cells and in the window."""
    row, col = locate(cells.spec, cells.origin, x, y)
    key = row * cells.n_cols + col
    ids = cells.ids
    order = np.argsort(ids)
    pos = np.clip(np.searchsorted(ids[order], key), 0, len(ids) - 1)
    ok = (
        (ids[order][pos] == key)
        & (col >= 0)
        & (col < cells.n_cols)
        & (step_idx >= 0)
        & (step_idx < n_steps)
    )
    flat = order[pos[ok]] * n_steps + step_idx[ok]
    w = None if values is None else values[ok]
    cube = np.bincount(flat, weights=w, minlength=len(ids) * n_steps)
    return cube.reshape(len(ids), n_steps).astype(float)


def _ehsa(p: HotspotParams, x, y, pts: LoadedPoints, aoi_m) -> Computed:
    assert pts.epoch_s is not None and p.filter.until is not None
    cells, w = grid_and_weights(p, x, y, pts.values, aoi_m)
    since = p.filter.since.timestamp() if p.filter.since else None
    idx, n_steps = time_steps(pts.epoch_s, p.step, since, p.filter.until.timestamp())
    if n_steps < 4:
        raise SpatialError(f"emerging hot spots need at least 4 time steps, not {n_steps}")
    cube = build_cube(cells, x, y, pts.values, idx, n_steps)
    res = emerging_hotspots(cube, w, time_window=p.time_window, fdr=True)
    names = np.array(res.pattern_names, dtype=object)
    cols = {
        "value": cube.sum(axis=1),
        "z": res.z[:, -1],
        "p": res.p[:, -1],
        "gi_bin": res.bins[:, -1],
        "trend_z": res.trend_z,
        "trend_p": res.trend_p,
        "category": names,
    }
    kinds, counts = np.unique(names, return_counts=True)
    derived = {**_grid_derived(cells, w), "n_steps": n_steps, "step": p.step}
    return Computed(
        cells.ids,
        cells.polygons,
        cols,
        derived=derived,
        summary={str(k): int(c) for k, c in zip(kinds, counts, strict=True)},
    )


def _kde(p: HotspotParams, x, y, pts: LoadedPoints, aoi_m, crs: str) -> Computed:
    cell = p.kde_cell_size or p.cell_size / 5
    extent: tuple[float, float, float, float] | None = None
    if aoi_m is not None:
        x0, y0, x1, y1 = (float(v) for v in aoi_m.bounds)
        extent = (x0, y0, x1, y1)
    if extent is not None:
        n = (extent[2] - extent[0]) / cell * (extent[3] - extent[1]) / cell
        if n > MAX_RASTER_CELLS:
            raise InvalidRequest(
                f"a {cell:g} m raster over this area has ~{n:,.0f} cells "
                f"(at most {MAX_RASTER_CELLS:,}): use a larger kde_cell_size"
            )
    res = kernel_density(
        x, y, cell_size=cell, crs=crs, bandwidth=p.bandwidth, weights=pts.values, extent=extent
    )
    derived = {
        "bandwidth_m": res.bandwidth,
        "bandwidth_is_default": res.bandwidth_is_default,
        "method": res.method,
        "kde_cell_size_m": cell,
        "total_weight": res.total_weight,
    }
    rows, cols = res.grid.array.shape
    return Computed(
        np.empty(0, np.int64),
        lambda: np.empty(0, object),
        {},
        raster=res.grid,
        derived=derived,
        summary={"raster": f"{cols}x{rows}", "bandwidth_m": round(res.bandwidth, 1)},
    )


def _dbscan(p: HotspotParams, x, y, pts: LoadedPoints) -> Computed:
    labels = dbscan(x, y, p.eps, p.min_count)
    hulls = cluster_hulls(x, y, labels)
    ids = np.array([c.label for c in hulls], dtype=np.int64)
    geoms = np.array([c.hull for c in hulls], dtype=object)
    counts = np.array([c.count for c in hulls], dtype=float)
    noise = int((labels < 0).sum())
    return Computed(
        ids,
        lambda: geoms,
        {"value": counts},
        derived={"noise_points": noise},
        summary={"clusters": len(hulls), "noise_points": noise},
    )


def compute(
    p: HotspotParams,
    x: np.ndarray,
    y: np.ndarray,
    pts: LoadedPoints,
    aoi_m: shapely.Geometry | None,
    crs: str,
) -> Computed:
    if p.kind == "gistar":
        return _gistar(p, x, y, pts, aoi_m)
    if p.kind == "ehsa":
        return _ehsa(p, x, y, pts, aoi_m)
    if p.kind == "kde":
        if len(x) == 0:
            raise SpatialError("no points to estimate a density from")
        return _kde(p, x, y, pts, aoi_m, crs)
    return _dbscan(p, x, y, pts)
