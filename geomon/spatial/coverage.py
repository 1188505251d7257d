"""Patrol coverage of a risk surface: which of the highest-risk cells came within a distance of
a team's track, per team, per zone and in total; and the uncovered areas ranked for the next
patrol.

Tracks are rasterised (each segment densely sampled at half a cell, so a fast vehicle leaves
no gaps) into a "visited" mask; a cell is *covered* when its centre lies within ``distance_m``
of the centre of a visited cell (Euclidean distance transform, ``scipy.ndimage``), so the
distance is exact between cell centres and at most half a cell diagonal off for the track
itself. Everything works in the surface's metric CRS; callers project tracks first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from affine import Affine
from scipy import ndimage

from geomon.errors import SpatialError

HIGH_COVERED, HIGH_UNCOVERED, NOT_HIGH, NODATA = 1, 2, 0, 255


def high_risk_mask(risk: np.ndarray, *, top_pct: float | None = None,
                   threshold: float | None = None, nodata: float | None = None
                   ) -> tuple[np.ndarray, float]:
    """Cells at or above ``threshold``, or in the top ``top_pct`` % of valid cells."""
    valid = np.isfinite(risk) if nodata is None else np.isfinite(risk) & (risk != nodata)
    if not valid.any():
        raise SpatialError("risk surface has no valid cells")
    if threshold is None:
        if top_pct is None or not 0 < top_pct <= 100:
            raise SpatialError("give top_pct in (0, 100] or a threshold")
        threshold = float(np.percentile(risk[valid], 100 - top_pct))
    return valid & (risk >= threshold), float(threshold)


def track_cells(x: np.ndarray, y: np.ndarray, transform: Affine, shape: tuple[int, int],
                breaks: np.ndarray | None = None) -> np.ndarray:
    """Flat indices of the cells a polyline passes through (in-bounds only, unique).

    ``breaks[i]`` True means fix i does not connect to fix i-1 (another team, a long gap)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    cs = abs(transform.a)
    if len(x) > 1:
        dx, dy = np.diff(x), np.diff(y)
        n = np.ceil(np.hypot(dx, dy) / (cs / 2)).astype(np.int64)
        if breaks is not None:
            n[np.asarray(breaks[1:], dtype=bool)] = 0
        n = np.maximum(n, 0)
        seg = np.repeat(np.arange(len(n)), n)
        start = np.cumsum(n) - n
        frac = (np.arange(seg.size) - start[seg]) / np.maximum(n[seg], 1)
        x = np.concatenate([x, x[seg] + dx[seg] * frac])
        y = np.concatenate([y, y[seg] + dy[seg] * frac])
    col = np.floor((x - transform.c) / transform.a).astype(np.int64)
    row = np.floor((y - transform.f) / transform.e).astype(np.int64)
    ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    return np.unique(row[ok] * shape[1] + col[ok])


def near_cells(visited: np.ndarray, cell_size: float, distance_m: float) -> np.ndarray:
    """Cells whose centre is within ``distance_m`` of a visited cell's centre (windowed EDT)."""
    rows, cols = np.nonzero(visited)
    out = np.zeros(visited.shape, dtype=bool)
    if rows.size == 0:
        return out
    pad = int(np.ceil(distance_m / cell_size)) + 1
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, visited.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, visited.shape[1])
    window = visited[r0:r1, c0:c1]
    dist = ndimage.distance_transform_edt(~window, sampling=cell_size)
    out[r0:r1, c0:c1] = dist <= distance_m
    return out


@dataclass(frozen=True)
class Share:
    high_cells: int
    covered_cells: int

    @property
    def share(self) -> float:
        return self.covered_cells / self.high_cells if self.high_cells else 0.0


@dataclass
class Coverage:
    """Totals, per-team and per-zone shares, and the layer (see HIGH_* codes)."""

    threshold: float
    total: Share
    per_team: dict[str, Share]
    per_zone: dict[int, Share]
    layer: np.ndarray
    covered: np.ndarray = field(repr=False)
    high: np.ndarray = field(repr=False)


def coverage(risk: np.ndarray, transform: Affine, tracks: Mapping[str, tuple[np.ndarray, ...]],
             distance_m: float, *, top_pct: float | None = 10.0, threshold: float | None = None,
             zone_masks: Mapping[int, np.ndarray] | None = None,
             nodata: float | None = None) -> Coverage:
    """Coverage of the high-risk cells of ``risk`` by ``tracks`` (team → (x, y[, breaks]))."""
    high, thr = high_risk_mask(risk, top_pct=top_pct, threshold=threshold, nodata=nodata)
    cs = abs(transform.a)
    covered = np.zeros(risk.shape, dtype=bool)
    per_team: dict[str, Share] = {}
    n_high = int(high.sum())
    for team, xyb in tracks.items():
        visited = np.zeros(risk.size, dtype=bool)
        visited[track_cells(xyb[0], xyb[1], transform, risk.shape,
                            xyb[2] if len(xyb) > 2 else None)] = True
        near = near_cells(visited.reshape(risk.shape), cs, distance_m)
        per_team[team] = Share(n_high, int(np.count_nonzero(near & high)))
        covered |= near
    hc = covered & high
    per_zone = {zid: Share(int((high & m).sum()), int((hc & m).sum()))
                for zid, m in (zone_masks or {}).items()}
    layer = np.full(risk.shape, NOT_HIGH, dtype=np.uint8)
    layer[hc] = HIGH_COVERED
    layer[high & ~covered] = HIGH_UNCOVERED
    valid = np.isfinite(risk) if nodata is None else np.isfinite(risk) & (risk != nodata)
    layer[~valid] = NODATA
    return Coverage(thr, Share(n_high, int(hc.sum())), per_team, per_zone, layer, covered, high)


@dataclass(frozen=True)
class PatrolArea:
    """One uncovered high-risk area (8-connected), with its rank inputs."""

    label: int
    cells: int
    area_m2: float
    risk_sum: float
    score: float
    x: float
    y: float
    distance_m: dict[str, float]
    priority: dict[str, float]


def next_patrol(risk: np.ndarray, uncovered: np.ndarray, transform: Affine,
                positions: Mapping[str, tuple[float, float]], *, distance_scale_m: float = 10_000,
                min_cells: int = 1, top: int = 50) -> tuple[list[PatrolArea], np.ndarray]:
    """Uncovered high-risk areas ranked by score = Σrisk × cell area (= mean risk × area).

    Per team, priority = score / (1 + d / distance_scale_m), d = distance from the team's
    current position to the area (centroid distance minus the radius of a disc of equal area,
    floored at 0). Returns the top areas by score and the label raster (0 = none)."""
    labels, n = ndimage.label(uncovered, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return [], labels
    idx = np.arange(1, n + 1)
    cells = ndimage.sum_labels(np.ones_like(risk, dtype=float), labels, idx)
    rsum = ndimage.sum_labels(np.nan_to_num(risk.astype(float)), labels, idx)
    cy, cx = np.array(ndimage.center_of_mass(uncovered, labels, idx)).T.reshape(2, -1)
    cell_area = abs(transform.a * transform.e)
    score = rsum * cell_area
    keep = np.flatnonzero(cells >= min_cells)
    keep = keep[np.argsort(-score[keep], kind="stable")][:top]
    xs = transform.c + (cx + 0.5) * transform.a  # north-up grids (raster_io.Grid)
    ys = transform.f + (cy + 0.5) * transform.e
    radius = np.sqrt(cells * cell_area / np.pi)
    areas = []
    for k in keep:
        dist = {t: max(float(np.hypot(px - xs[k], py - ys[k]) - radius[k]), 0.0)
                for t, (px, py) in positions.items()}
        areas.append(PatrolArea(int(idx[k]), int(cells[k]), float(cells[k] * cell_area),
                                float(rsum[k]), float(score[k]), float(xs[k]), float(ys[k]), dist,
                                {t: float(score[k]) / (1 + d / distance_scale_m)
                                 for t, d in dist.items()}))
    return areas, labels


def ranked_for_team(areas: list[PatrolArea], team: str) -> list[PatrolArea]:
    """The areas in the order one team should go to them (highest priority first)."""
    return sorted(areas, key=lambda a: -a.priority.get(team, 0.0))
