"""Gi* z-scores on a square grid with a fixed distance band, without a weights matrix.

On a square lattice of cell size s, binary distance-band weights (self included, the band
widened by ``weights.BAND_TOLERANCE`` as ``weights.distance_band`` does) are one fixed
stencil: cell (r + dr, c + dc) is a neighbour of (r, c) when s·√(dr² + dc²) ≤ band. The
stencil is a stack of row runs |dc| ≤ h(dr), so every neighbourhood sum is, per stencil row,
a difference of prefix sums along the grid rows (an integral image per row): O(cells × rows
of the stencil) time and a few dense arrays of memory. Cells that are not kept (outside the
AOI, or empty when empty cells are dropped) are holes: a mask makes them count for nothing,
exactly like a feature that is absent from the sparse matrix.

With binary weights Σ w_ij² = Σ w_ij, so the statistic of ``gistar.gistar_z`` needs only the
neighbourhood sums of the values and of the mask; the z-scores equal the sparse path's to
rounding (tests/unit/test_gistar_grid.py: ≤ 1e-9). Permutations and k-nearest-neighbour or
hex-grid weights keep the sparse path (``gistar.gistar``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from geomon.errors import SpatialError
from geomon.spatial.gistar import GiStarResult, gi_bins, gi_bins_fdr
from geomon.spatial.weights import BAND_TOLERANCE


def band_runs(cell_size: float, band: float) -> list[tuple[int, int]]:
    """(dr, h): the stencil rows and their half-widths, as ``distance_band`` decides."""
    if not band > 0:
        raise SpatialError(f"distance band must be positive, not {band}")
    limit = band * (1 + BAND_TOLERANCE)
    reach = int(math.floor(limit / cell_size)) + 1
    runs = []
    for dr in range(-reach, reach + 1):
        h = -1
        for dc in range(reach + 1):
            if cell_size * math.hypot(dr, dc) <= limit:
                h = dc
        if h >= 0:
            runs.append((dr, h))
    return runs


def window_sums(a: np.ndarray, runs: list[tuple[int, int]]) -> np.ndarray:
    """For every cell of the 2-D array ``a``, the sum of ``a`` over the stencil around it."""
    n_rows, n_cols = a.shape
    prefix = np.zeros((n_rows, n_cols + 1))
    np.cumsum(a, axis=1, out=prefix[:, 1:])
    cols = np.arange(n_cols)
    out = np.zeros_like(a, dtype=float)
    by_h: dict[int, np.ndarray] = {}
    for dr, h in runs:
        run = by_h.get(h)
        if run is None:  # the row-run sums of half-width h, once per distinct h
            hi = np.minimum(cols + h + 1, n_cols)
            lo = np.maximum(cols - h, 0)
            run = by_h[h] = prefix[:, hi] - prefix[:, lo]
        if dr >= 0:
            out[: n_rows - dr] += run[dr:]
        else:
            out[-dr:] += run[: n_rows + dr]
    return out


def gistar_grid_z(
    values: np.ndarray, row: np.ndarray, col: np.ndarray, cell_size: float, band: float
) -> tuple[np.ndarray, np.ndarray]:
    """Analytic Gi* z of the kept cells (their row/col on the lattice) and their neighbour
    counts (self not counted), for binary distance-band weights with self."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    if n < 3:
        raise SpatialError("Gi* needs at least three features")
    if not np.isfinite(y).all():
        raise SpatialError("values must be finite")
    mean = y.mean()
    s = math.sqrt(max(float((y * y).mean() - mean * mean), 0.0))
    if s <= 1e-12 * max(abs(mean), 1.0):
        raise SpatialError("all values are equal: Gi* is undefined (no variance)")
    r = np.asarray(row, dtype=np.int64) - int(np.min(row))
    c = np.asarray(col, dtype=np.int64) - int(np.min(col))
    shape = (int(r.max()) + 1, int(c.max()) + 1)
    runs = band_runs(cell_size, band)
    grid = np.zeros(shape)
    grid[r, c] = y
    ysum = window_sums(grid, runs)[r, c]
    grid[:] = 0.0
    grid[r, c] = 1.0
    wsum = np.rint(window_sums(grid, runs)[r, c])  # counts: integers up to rounding
    num = ysum - mean * wsum
    den = s * np.sqrt((n * wsum - wsum * wsum) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / den
    return np.where(den > 0, z, np.nan), wsum.astype(np.int64) - 1


def gistar_grid(
    values: np.ndarray,
    row: np.ndarray,
    col: np.ndarray,
    cell_size: float,
    band: float,
    *,
    fdr: bool = False,
) -> GiStarResult:
    """``gistar.gistar`` for a square grid and a distance band (no permutations)."""
    z, card = gistar_grid_z(values, row, col, cell_size, band)
    p = 2.0 * norm.sf(np.abs(z))
    return GiStarResult(
        z=z,
        p=p,
        gi_bin=gi_bins(z, p),
        gi_bin_fdr=gi_bins_fdr(z, p) if fdr else None,
        p_sim=None,
        n_neighbours=card,
    )


def band_summary(card: np.ndarray, band: float) -> dict[str, float | int | str | None]:
    """``Weights.summary`` of the distance-band weights the stencil stands for."""
    return {
        "kind": "distance_band",
        "threshold_m": float(band),
        "k": None,
        "n": len(card),
        "min_neighbours": int(card.min()) if len(card) else 0,
        "max_neighbours": int(card.max()) if len(card) else 0,
        "mean_neighbours": float(card.mean()) if len(card) else 0.0,
        "n_without_neighbours": int((card == 0).sum()),
    }
