"""Risk / friction surfaces for least-cost routing, built from documented weighted layers.

Pure: arrays, :class:`Grid` and shapely geometries (already in the grid's metric CRS) in, a
float32 :class:`Grid` out. Units: **relative cost per metre** (1.0 = flat open ground with no
other factor); accumulated costs over it are "cost × metres". The formula, cell by cell::

    cost = base
         + slope_weight     · tan(slope)                       (slope from the DEM)
         + border_weight    · exp(-d_border   / border_scale_m)
         + crossing_weight  · exp(-d_crossing / crossing_scale_m)
         + patrol_weight    · patrol_density / max(patrol_density)
         + hotspot_weight   · hotspot / max(hotspot)
    cost = max(cost, min_cost) · (road_factor on road/track cells)
    cost = NODATA on impassable polygons and DEM nodata

A positive weight makes routes avoid the feature, a negative one attracts them: illicit routes
avoid official crossing points (positive ``crossing_weight``) and patrols, and tend to run
through past seizure hotspots (negative ``hotspot_weight``). Every weight and input is written
into the output's tags (``geomon_*`` keys: GDAL metadata keys cannot hold a colon) so a
stored surface can be reproduced.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from affine import Affine
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

from geomon.errors import SpatialError
from geomon.spatial.raster_io import Grid, rasterize_geometries

log = logging.getLogger(__name__)

NODATA = -9999.0
UNITS = "relative cost per metre"


@dataclass(frozen=True)
class SurfaceWeights:
    """The documented weights of :func:`build_surface` (see the module docstring)."""

    base: float = 1.0
    min_cost: float = 0.05
    slope_weight: float = 4.0
    border_weight: float = 0.0
    border_scale_m: float = 5000.0
    crossing_weight: float = 2.0
    crossing_scale_m: float = 5000.0
    patrol_weight: float = 1.0
    patrol_sigma_m: float = 3000.0
    hotspot_weight: float = -0.5
    road_factor: float = 0.3
    road_all_touched: bool = True

    def __post_init__(self) -> None:
        if not (self.min_cost > 0 and self.base > 0):
            raise SpatialError("base and min_cost must be > 0")
        if not 0 < self.road_factor <= 1:
            raise SpatialError("road_factor must be in (0, 1]: roads lower friction")
        for name in ("border_scale_m", "crossing_scale_m", "patrol_sigma_m"):
            if getattr(self, name) <= 0:
                raise SpatialError(f"{name} must be > 0")


def slope_tangent(dem: Grid) -> np.ndarray:
    """tan(slope) = |∇z| with a central-difference gradient in metres (NaN at nodata)."""
    z = np.asarray(dem.array, dtype=np.float64)
    if dem.nodata is not None:
        z = np.where(z == dem.nodata, np.nan, z)
    dy, dx = abs(dem.transform.e), abs(dem.transform.a)
    gy, gx = np.gradient(z, dy, dx)
    return np.hypot(gx, gy)


def distance_to(
    geoms: Sequence[BaseGeometry], shape: tuple[int, int], transform: Affine
) -> np.ndarray | None:
    """Euclidean distance (m) from each cell centre to the nearest rasterised geometry cell."""
    mask = rasterize_geometries(geoms, shape, transform, all_touched=True)
    if not mask.any():
        return None
    return ndimage.distance_transform_edt(
        ~mask, sampling=(abs(transform.e), abs(transform.a))
    )  # fmt: skip


def point_density(
    points: Sequence[BaseGeometry], shape: tuple[int, int], transform: Affine, sigma_m: float
) -> np.ndarray | None:
    """Gaussian-smoothed count of points per cell, scaled to a maximum of 1."""
    counts = np.zeros(shape, dtype=np.float64)
    inv_rows, inv_cols = [], []
    for p in points:
        col = (p.x - transform.c) / transform.a
        row = (p.y - transform.f) / transform.e
        if 0 <= row < shape[0] and 0 <= col < shape[1]:
            inv_rows.append(int(row))
            inv_cols.append(int(col))
    if not inv_rows:
        return None
    np.add.at(counts, (np.asarray(inv_rows), np.asarray(inv_cols)), 1.0)
    sig = (sigma_m / abs(transform.e), sigma_m / abs(transform.a))
    dens = ndimage.gaussian_filter(counts, sig, mode="constant")
    return dens / dens.max()


def build_surface(
    dem: Grid,
    weights: SurfaceWeights | None = None,
    *,
    hotspot: np.ndarray | None = None,
    borders: Sequence[BaseGeometry] = (),
    crossings: Sequence[BaseGeometry] = (),
    roads: Sequence[BaseGeometry] = (),
    impassable: Sequence[BaseGeometry] = (),
    patrols: Sequence[BaseGeometry] = (),
    inputs: Mapping[str, str] | None = None,
) -> Grid:
    """The friction surface on the DEM's grid (module docstring gives the formula)."""
    w = weights or SurfaceWeights()
    shape, tr = dem.array.shape, dem.transform
    if hotspot is not None and hotspot.shape != shape:
        raise SpatialError(f"hotspot raster shape {hotspot.shape} differs from the DEM {shape}")
    tan = slope_tangent(dem)
    cost = w.base + w.slope_weight * np.nan_to_num(tan, nan=0.0)
    used: dict[str, str] = {}
    for name, geoms, weight, scale in (
        ("border", borders, w.border_weight, w.border_scale_m),
        ("crossing", crossings, w.crossing_weight, w.crossing_scale_m),
    ):
        d = distance_to(geoms, shape, tr) if (geoms and weight) else None
        if d is not None:
            cost += weight * np.exp(-d / scale)
            used[name] = f"{len(geoms)} geometries"
    dens = point_density(patrols, shape, tr, w.patrol_sigma_m) if w.patrol_weight else None
    if dens is not None:
        cost += w.patrol_weight * dens
        used["patrols"] = f"{len(patrols)} points"
    if hotspot is not None and w.hotspot_weight:
        h = np.nan_to_num(np.asarray(hotspot, dtype=np.float64), nan=0.0).clip(min=0.0)
        if h.max() > 0:
            cost += w.hotspot_weight * h / h.max()
            used["hotspot"] = "raster"
    cost = np.maximum(cost, w.min_cost)
    _apply_roads_and_barriers(cost, roads, impassable, tan, tr, w, used)
    return _surface_grid(dem, cost, w, used, inputs)


def _apply_roads_and_barriers(
    cost: np.ndarray,
    roads: Sequence[BaseGeometry],
    impassable: Sequence[BaseGeometry],
    tan: np.ndarray,
    tr: Affine,
    w: SurfaceWeights,
    used: dict[str, str],
) -> None:
    if roads:
        on_road = rasterize_geometries(roads, cost.shape, tr, all_touched=w.road_all_touched)
        cost[on_road] *= w.road_factor
        used["roads"] = f"{len(roads)} geometries, {int(on_road.sum())} cells"
    blocked = np.isnan(tan)
    if impassable:
        blocked |= rasterize_geometries(impassable, cost.shape, tr, all_touched=False)
        used["impassable"] = f"{len(impassable)} polygons"
    cost[blocked] = NODATA


def _surface_grid(
    dem: Grid,
    cost: np.ndarray,
    w: SurfaceWeights,
    used: Mapping[str, str],
    inputs: Mapping[str, str] | None,
) -> Grid:
    tags = {
        "geomon_kind": "friction surface",
        "geomon_units": UNITS,
        "geomon_weights": json.dumps(asdict(w), sort_keys=True),
        "geomon_layers": json.dumps(dict(used), sort_keys=True),
        "geomon_inputs": json.dumps(dict(inputs or {}), sort_keys=True),
        "geomon_formula": "max(base + Σ weight·layer, min_cost) · road_factor; NODATA blocks",
    }
    log.info("built surface %s with layers %s", cost.shape, sorted(used))
    return Grid(cost.astype(np.float32), dem.transform, dem.crs, NODATA, tags)


def synthetic_dem(
    shape: tuple[int, int],
    transform: Affine,
    crs: str,
    *,
    seed: int = 0,
    base_m: float = 400.0,
    relief_m: float = 2500.0,
) -> Grid:
    """A deterministic mountain-and-valley DEM (metres) for demos and tests.

    Multi-scale smoothed noise plus a ridge running across the grid; the same seed always
    gives the same array.
    """
    rows, cols = shape
    if rows < 2 or cols < 2:
        raise SpatialError("a DEM needs at least 2×2 cells")
    rng = np.random.default_rng(seed)
    z = np.zeros(shape)
    for frac, amp in ((1 / 6, 1.0), (1 / 20, 0.35), (1 / 60, 0.1)):
        sigma = max(1.0, frac * min(shape))
        layer = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
        z += amp * layer / (np.abs(layer).max() or 1.0)
    yy, xx = np.mgrid[0:rows, 0:cols]
    angle = rng.uniform(0, math.pi)
    ridge_d = (xx - cols / 2) * math.sin(angle) - (yy - rows / 2) * math.cos(angle)
    z += 0.8 * np.exp(-((ridge_d / (0.08 * max(shape))) ** 2))
    z = (z - z.min()) / (np.ptp(z) or 1.0)
    tags = {"geomon_kind": "synthetic DEM", "geomon_seed": str(seed), "units": "metres"}
    return Grid((base_m + relief_m * z).astype(np.float32), transform, crs, None, tags)
