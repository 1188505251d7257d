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


def high_risk_mask(
    risk: np.ndarray,
    *,
    top_pct: float | None = None,
    threshold: float | None = None,
    nodata: float | None = None,
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


def track_cells(
    x: np.ndarray,
    y: np.ndarray,
    transform: Affine,
    shape: tuple[int, int],
    breaks: np.ndarray | None = None,
    *,
    unique: bool = True,
) -> np.ndarray:
    """Flat indices of the cells a polyline passes through (in-bounds only; unique unless
    ``unique=False``, then possibly repeated).

    ``breaks[i]`` True means fix i does not connect to fix i-1 (another team, a long gap)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    cs = abs(transform.a)
    if len(x) > 1:
        dx, dy = np.diff(x), np.diff(y)
        n = np.ceil(np.hypot(dx, dy) / (cs / 2)).astype(np.int64)
        if breaks is not None:
            n[np.asarray(breaks[1:], dtype=bool)] = 0
        extra = np.maximum(n - 1, 0)  # points inserted strictly inside long segments
        if extra.any():
            seg = np.repeat(np.arange(len(n)), extra)
            start = np.cumsum(extra) - extra
            frac = (np.arange(seg.size) - start[seg] + 1) / n[seg]
            x = np.concatenate([x, x[seg] + dx[seg] * frac])
            y = np.concatenate([y, y[seg] + dy[seg] * frac])
    col = np.floor((x - transform.c) / transform.a).astype(np.int64)
    row = np.floor((y - transform.f) / transform.e).astype(np.int64)
    ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    flat = row[ok] * shape[1] + col[ok]
    return np.unique(flat) if unique else flat


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


def disc_offsets(cell_size: float, distance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Row/column offsets of the cells whose centre is within ``distance_m`` of a centre."""
    r = int(np.floor(distance_m / cell_size))
    dr, dc = np.mgrid[-r : r + 1, -r : r + 1]
    keep = (dr * dr + dc * dc) * cell_size**2 <= distance_m**2 + 1e-9
    return dr[keep].ravel(), dc[keep].ravel()


def near_flat(
    cells: np.ndarray, shape: tuple[int, int], offsets: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Flat indices (with repeats) of the cells within the disc ``offsets`` of flat ``cells``:
    the same cells as :func:`near_cells`, without touching the rest of the grid."""
    rows, cols = np.divmod(cells, shape[1])
    rr = (rows[:, None] + offsets[0][None, :]).ravel()
    cc = (cols[:, None] + offsets[1][None, :]).ravel()
    ok = (rr >= 0) & (rr < shape[0]) & (cc >= 0) & (cc < shape[1])
    return rr[ok] * shape[1] + cc[ok]


STENCIL_MAX_PAIRS = 30_000_000  # visited cells x disc cells above which the EDT path is used


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


def coverage(
    risk: np.ndarray,
    transform: Affine,
    tracks: Mapping[str, tuple[np.ndarray, ...]],
    distance_m: float,
    *,
    top_pct: float | None = 10.0,
    threshold: float | None = None,
    zone_masks: Mapping[int, np.ndarray] | None = None,
    nodata: float | None = None,
) -> Coverage:
    """Coverage of the high-risk cells of ``risk`` by ``tracks`` (team → (x, y[, breaks]))."""
    high, thr = high_risk_mask(risk, top_pct=top_pct, threshold=threshold, nodata=nodata)
    cs = abs(transform.a)
    offsets = disc_offsets(cs, distance_m)
    # Work on a grid padded by the disc radius so a disc never leaves it: one add per pair.
    pad = int(np.abs(offsets[0]).max()) if offsets[0].size else 0
    padded = (risk.shape[0] + 2 * pad, risk.shape[1] + 2 * pad)
    flat_offsets = offsets[0] * padded[1] + offsets[1]
    covered_p = np.zeros(padded, dtype=bool)
    scratch = np.zeros(padded[0] * padded[1], dtype=bool)  # one team's cells, cleared after
    high_p = np.zeros(padded, dtype=bool)
    high_p[pad : pad + risk.shape[0], pad : pad + risk.shape[1]] = high
    high_flat, covered_flat = high_p.ravel(), covered_p.ravel()
    per_team: dict[str, Share] = {}
    n_high = int(high.sum())
    for team, xyb in tracks.items():
        cells = track_cells(
            xyb[0], xyb[1], transform, risk.shape, xyb[2] if len(xyb) > 2 else None, unique=False
        )
        rows, cols = np.divmod(cells, risk.shape[1])
        scratch[(rows + pad) * padded[1] + cols + pad] = True
        cells_p = np.flatnonzero(scratch)
        scratch[cells_p] = False
        if cells_p.size * flat_offsets.size <= STENCIL_MAX_PAIRS:
            scratch[(cells_p[:, None] + flat_offsets[None, :]).ravel()] = True
            near = np.flatnonzero(scratch)
            scratch[near] = False
        else:
            visited = np.zeros(padded[0] * padded[1], dtype=bool)
            visited[cells_p] = True
            near = np.flatnonzero(near_cells(visited.reshape(padded), cs, distance_m))
        per_team[team] = Share(n_high, int(np.count_nonzero(high_flat[near])))
        covered_flat[near] = True
    covered = covered_p[pad : pad + risk.shape[0], pad : pad + risk.shape[1]]
    hc = covered & high
    per_zone = {
        zid: Share(int((high & m).sum()), int((hc & m).sum()))
        for zid, m in (zone_masks or {}).items()
    }
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


def next_patrol(
    risk: np.ndarray,
    uncovered: np.ndarray,
    transform: Affine,
    positions: Mapping[str, tuple[float, float]],
    *,
    distance_scale_m: float = 10_000,
    min_cells: int = 1,
    top: int = 50,
) -> tuple[list[PatrolArea], np.ndarray]:
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
        dist = {
            t: max(float(np.hypot(px - xs[k], py - ys[k]) - radius[k]), 0.0)
            for t, (px, py) in positions.items()
        }
        areas.append(
            PatrolArea(
                int(idx[k]),
                int(cells[k]),
                float(cells[k] * cell_area),
                float(rsum[k]),
                float(score[k]),
                float(xs[k]),
                float(ys[k]),
                dist,
                {t: float(score[k]) / (1 + d / distance_scale_m) for t, d in dist.items()},
            )
        )
    return areas, labels


def ranked_for_team(areas: list[PatrolArea], team: str) -> list[PatrolArea]:
    """The areas in the order one team should go to them (highest priority first)."""
    return sorted(areas, key=lambda a: -a.priority.get(team, 0.0))
