"""Emerging hot spot analysis on a space-time cube (cells × time steps), after ArcGIS Pro.

Steps (ArcGIS Pro, "How Emerging Hot Spot Analysis works"):

1. Gi* for every bin (cell i, step t) with space-time neighbours: the spatial neighbours of i
   (self included) in step t and in the ``time_window`` preceding steps (ArcGIS's
   "neighborhood time step"). The whole cube is the population (mean and S over all bins).
2. A bin is a significant hot (cold) spot when its Gi_Bin is positive (negative), i.e.
   significant at 90 % or more, with the Benjamini–Hochberg FDR correction over all bins by
   default (ArcGIS applies FDR here).
3. Mann–Kendall trend test (with the ties correction) on each cell's series of Gi* z-scores.
4. Pattern categories; Esri's definitions overlap, the precedence is in
   docs/emerging-hotspots.md and in :func:`classify_patterns`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
from scipy.stats import norm

from geomon.errors import SpatialError
from geomon.spatial.gistar import gi_bins, gi_bins_fdr
from geomon.spatial.weights import Weights

log = logging.getLogger(__name__)

PATTERNS: tuple[str, ...] = (
    "no pattern",
    "new hot spot",
    "consecutive hot spot",
    "intensifying hot spot",
    "persistent hot spot",
    "diminishing hot spot",
    "sporadic hot spot",
    "oscillating hot spot",
    "historical hot spot",
    "new cold spot",
    "consecutive cold spot",
    "intensifying cold spot",
    "persistent cold spot",
    "diminishing cold spot",
    "sporadic cold spot",
    "oscillating cold spot",
    "historical cold spot",
)
COLD_OFFSET = 8  # code of a cold pattern = code of the hot one + 8


@dataclass(frozen=True)
class EhsaResult:
    """Per-bin Gi* (cells × steps), per-cell trend and pattern."""

    z: np.ndarray
    p: np.ndarray
    bins: np.ndarray
    trend_z: np.ndarray
    trend_p: np.ndarray
    pattern: np.ndarray

    @property
    def pattern_names(self) -> list[str]:
        return [PATTERNS[c] for c in self.pattern]


def space_time_gistar(
    cube: np.ndarray, weights: sp.spmatrix | Weights, time_window: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z and two-sided p for every bin of a (cells × steps) cube; see module doc."""
    y = np.asarray(cube, dtype=float)
    w = sp.csr_matrix(weights.matrix if isinstance(weights, Weights) else weights)
    if y.ndim != 2 or w.shape != (y.shape[0], y.shape[0]):
        raise SpatialError(f"cube {y.shape} does not match weights {w.shape}")
    if time_window < 0:
        raise SpatialError("time_window must be ≥ 0")
    if not np.isfinite(y).all():
        raise SpatialError("cube values must be finite")
    n_cells, n_steps = y.shape
    big_n = y.size
    mean = y.mean()
    s = np.sqrt(max((y * y).mean() - mean * mean, 0.0))
    if s <= 1e-12 * max(abs(mean), 1.0):
        raise SpatialError("all cube values are equal: Gi* is undefined")
    spatial_sum = np.asarray(w @ y)
    csum = np.cumsum(spatial_sum, axis=1)
    lagged = np.zeros_like(csum)
    if time_window + 1 < n_steps:
        lagged[:, time_window + 1 :] = csum[:, : n_steps - time_window - 1]
    local = csum - lagged
    steps_in = np.minimum(np.arange(n_steps), time_window) + 1
    wsum = np.asarray(w.sum(axis=1)).ravel()[:, None] * steps_in[None, :]
    w2 = np.asarray(w.multiply(w).sum(axis=1)).ravel()[:, None] * steps_in[None, :]
    den = s * np.sqrt((big_n * w2 - wsum * wsum) / (big_n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, (local - mean * wsum) / den, np.nan)
    return z, 2.0 * norm.sf(np.abs(z))


@numba.njit(cache=True)
def _mk_rows(x):  # pragma: no cover - numba
    n, t = x.shape
    s_out = np.zeros(n)
    var_out = np.zeros(n)
    base = t * (t - 1) * (2 * t + 5)
    for r in range(n):
        s = 0.0
        for i in range(t - 1):
            for j in range(i + 1, t):
                d = x[r, j] - x[r, i]
                s += (d > 0) - (d < 0)
        srt = np.sort(x[r])
        ties = 0.0
        run = 1
        for i in range(1, t + 1):
            if i < t and srt[i] == srt[i - 1]:
                run += 1
            else:
                ties += run * (run - 1) * (2 * run + 5)
                run = 1
        s_out[r] = s
        var_out[r] = (base - ties) / 18.0
    return s_out, var_out


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mann–Kendall S, Var(S) (ties-corrected), z (continuity-corrected) and two-sided p."""
    x = np.atleast_2d(np.asarray(series, dtype=float))
    if x.shape[1] < 3:
        raise SpatialError("the Mann–Kendall test needs at least three time steps")
    x = np.nan_to_num(x, nan=0.0)
    s, var = _mk_rows(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    return s, var, z, 2.0 * norm.sf(np.abs(z))


def _trailing_run(flags: np.ndarray) -> np.ndarray:
    return np.cumprod(flags[:, ::-1], axis=1).sum(axis=1)


def _side(final, this, other, trend_up, trend_down, n_steps) -> np.ndarray:
    """Hot-pattern codes 1..7 for cells whose final step is significant on ``this`` side."""
    count = this.sum(axis=1)
    run = _trailing_run(this)
    mostly = count >= 0.9 * n_steps
    conds = [
        count == 1,  # new
        (run >= 2) & (count == run) & ~mostly,  # consecutive
        mostly & trend_up,  # intensifying
        mostly & ~trend_up & ~trend_down,  # persistent
        mostly & trend_down,  # diminishing
        ~mostly & ~other.any(axis=1),  # sporadic
        ~mostly & other.any(axis=1),  # oscillating
    ]
    return np.where(final, np.select(conds, np.arange(1, 8), default=0), 0)


def classify_patterns(
    hot: np.ndarray,
    cold: np.ndarray,
    trend_z: np.ndarray,
    trend_p: np.ndarray,
    trend_alpha: float = 0.05,
) -> np.ndarray:
    """Pattern code per cell (index into PATTERNS) from significance flags and the trend.

    Precedence: the final step decides the side (hot, cold, or neither); within a side the
    first matching row of Esri's table wins (new, consecutive, intensifying, persistent,
    diminishing, sporadic, oscillating); a final step that is neither hot nor cold can only be
    historical (≥ 90 % of steps hot, or cold) or no pattern.
    """
    hot = np.asarray(hot, bool)
    cold = np.asarray(cold, bool)
    n_steps = hot.shape[1]
    sig = np.asarray(trend_p) < trend_alpha
    up = sig & (np.asarray(trend_z) > 0)
    down = sig & (np.asarray(trend_z) < 0)
    code = _side(hot[:, -1], hot, cold, up, down, n_steps)
    # For cold spots "intensifying" means z keeps falling.
    cold_code = _side(cold[:, -1], cold, hot, down, up, n_steps)
    code = np.where(cold_code > 0, cold_code + COLD_OFFSET, code)
    neither = ~hot[:, -1] & ~cold[:, -1]
    code = np.where(neither & (hot.sum(axis=1) >= 0.9 * n_steps), 8, code)
    code = np.where(neither & (cold.sum(axis=1) >= 0.9 * n_steps), 8 + COLD_OFFSET, code)
    return code.astype(np.int8)


def emerging_hotspots(
    cube: np.ndarray,
    weights: sp.spmatrix | Weights,
    *,
    time_window: int = 1,
    fdr: bool = True,
    trend_alpha: float = 0.05,
) -> EhsaResult:
    """Space-time Gi*, Mann–Kendall trend of each cell's z-scores, and its pattern."""
    z, p = space_time_gistar(cube, weights, time_window)
    flat_z, flat_p = z.ravel(), p.ravel()
    bins = (gi_bins_fdr(flat_z, flat_p) if fdr else gi_bins(flat_z, flat_p)).reshape(z.shape)
    _, _, tz, tp = mann_kendall(z)
    pattern = classify_patterns(bins > 0, bins < 0, tz, tp, trend_alpha)
    log.info(
        "ehsa: %d cells × %d steps, %d with a pattern",
        z.shape[0],
        z.shape[1],
        int((pattern > 0).sum()),
    )
    return EhsaResult(z=z, p=p, bins=bins, trend_z=tz, trend_p=tp, pattern=pattern)
