"""Risk of a route (a planned patrol or a driven track) over a risk/cost surface.

The line (in the surface's CRS) is cut into pieces of at most half a cell; each piece takes the
value of the cell under its midpoint. Integrated risk is Σ value × piece length (value × metres);
the mean is that divided by the covered length. Pieces off the raster or on nodata are left out
and reported as ``uncovered_m``. Runs of consecutive pieces above a threshold come back as
GeoJSON-ready Feature dicts (coordinates in the surface's CRS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, mapping
from shapely.geometry.base import BaseGeometry

from geomon.errors import SpatialError
from geomon.spatial.raster_io import Grid


@dataclass(frozen=True)
class RouteRisk:
    """Summary figures of a route over a surface, plus the segments above ``threshold``."""

    length_m: float
    covered_m: float
    mean: float
    max: float
    integrated: float
    threshold: float | None
    segments: list[dict[str, object]] = field(default_factory=list)

    @property
    def uncovered_m(self) -> float:
        return self.length_m - self.covered_m

    def summary(self) -> dict[str, object]:
        return {
            "length_m": self.length_m,
            "covered_m": self.covered_m,
            "uncovered_m": self.uncovered_m,
            "mean": self.mean,
            "max": self.max,
            "integrated": self.integrated,
            "threshold": self.threshold,
            "n_segments_above": len(self.segments),
        }


def _pieces(line: BaseGeometry, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start points, end points and part ids of the ≤ ``step`` pieces of a (multi)line."""
    parts = list(line.geoms) if isinstance(line, MultiLineString) else [line]
    starts, ends, ids = [], [], []
    for k, part in enumerate(parts):
        xy = shapely.get_coordinates(shapely.segmentize(part, step))
        starts.append(xy[:-1])
        ends.append(xy[1:])
        ids.append(np.full(len(xy) - 1, k))
    return np.vstack(starts), np.vstack(ends), np.concatenate(ids)


def sample_nearest(surface: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Value of the cell containing each point (NaN off the raster or on nodata)."""
    t = surface.transform
    col = np.floor((x - t.c) / t.a).astype(np.int64)
    row = np.floor((y - t.f) / t.e).astype(np.int64)
    rows, cols = surface.array.shape
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    out = np.full(x.shape, np.nan)
    out[ok] = surface.array[row[ok], col[ok]]
    if surface.nodata is not None and not math.isnan(surface.nodata):
        out[out == surface.nodata] = np.nan
    return out


def route_risk(
    surface: Grid,
    line: BaseGeometry,
    *,
    threshold: float | None = None,
    spacing_m: float | None = None,
) -> RouteRisk:
    """Mean, maximum and integrated surface value along ``line`` (see module docstring)."""
    if not isinstance(line, LineString | MultiLineString) or line.is_empty:
        raise SpatialError("route must be a non-empty LineString or MultiLineString")
    half = 0.5 * min(abs(surface.transform.a), abs(surface.transform.e))
    step = half if spacing_m is None else min(half, spacing_m)
    a, b, ids = _pieces(line, step)
    lengths = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    mid = (a + b) / 2
    vals = sample_nearest(surface, mid[:, 0], mid[:, 1])
    ok = ~np.isnan(vals)
    covered = float(lengths[ok].sum())
    integrated = float((vals[ok] * lengths[ok]).sum())
    mean = integrated / covered if covered > 0 else math.nan
    vmax = float(vals[ok].max()) if ok.any() else math.nan
    segments = [] if threshold is None else _segments_above(a, b, ids, vals, lengths, threshold)
    return RouteRisk(float(lengths.sum()), covered, mean, vmax, integrated, threshold, segments)


def _segments_above(
    a: np.ndarray,
    b: np.ndarray,
    ids: np.ndarray,
    vals: np.ndarray,
    lengths: np.ndarray,
    threshold: float,
) -> list[dict[str, object]]:
    """GeoJSON Features of the maximal runs of consecutive pieces with value > threshold."""
    above = np.nan_to_num(vals, nan=-np.inf) > threshold
    along = np.concatenate(([0.0], np.cumsum(lengths)))
    out: list[dict[str, object]] = []
    i, n = 0, len(vals)
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1] and ids[j + 1] == ids[i]:
            j += 1
        coords = np.vstack((a[i : j + 1], b[j : j + 1]))
        seg_len = float(lengths[i : j + 1].sum())
        integ = float((vals[i : j + 1] * lengths[i : j + 1]).sum())
        out.append({
            "type": "Feature",
            "geometry": mapping(LineString(coords)),
            "properties": {
                "start_m": float(along[i]), "end_m": float(along[j + 1]),
                "length_m": seg_len, "mean": integ / seg_len if seg_len else float(vals[i]),
                "max": float(vals[i : j + 1].max()), "integrated": integ,
            },
        })  # fmt: skip
        i = j + 1
    return out
