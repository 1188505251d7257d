"""Getis–Ord Gi* local statistic as ArcGIS Hot Spot Analysis computes it, vectorised.

For feature i with weights w_ij (self included), n features, mean X̄ and
S = sqrt(Σx²/n − X̄²) (population standard deviation), ArcGIS's "How Hot Spot Analysis
(Getis-Ord Gi*) works" gives the z-score directly:

    Gi* = (Σ_j w_ij x_j − X̄ Σ_j w_ij) / (S · sqrt((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1)))

p is two-sided from the standard normal. ``Gi_Bin`` follows ArcGIS's table (tool reference
"Hot Spot Analysis (Getis-Ord Gi*)", usage notes, and "What is a z-score? What is a p-value?"):
±3 when |z| > 2.58 and p < 0.01 (99 %), ±2 when |z| > 1.96 and p < 0.05 (95 %), ±1 when
|z| > 1.65 and p < 0.10 (90 %), else 0, signed like z. With the FDR correction, for each
confidence level the Benjamini–Hochberg procedure lowers the critical p-value: the p-values
are ranked, p_(k) ≤ α·k/n is sought for the largest k, and features with p ≤ that p_(k) are
significant at that level (ArcGIS: "the FDR procedure will potentially reduce the critical
p-value thresholds"); the bin is the highest level met, signed like z.

With binary weights these z-scores are identical to PySAL's
``esda.G_Local(y, w, transform='B', star=True).Zs`` (used as the test oracle).

``p_sim`` are conditional-permutation pseudo p-values (Anselin 1995; as in esda): y_i is held
fixed and its neighbours' values are drawn without replacement from the other n − 1 values;
p_sim = (min(M, P − M) + 1) / (P + 1), M = number of draws with a local sum ≥ the observed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
from scipy.stats import norm

from geomon.errors import SpatialError
from geomon.spatial.weights import Weights

log = logging.getLogger(__name__)

# (bin, |z| strictly above, p strictly below): ArcGIS's confidence table.
BIN_LEVELS: tuple[tuple[int, float, float], ...] = (
    (3, 2.58, 0.01),
    (2, 1.96, 0.05),
    (1, 1.65, 0.10),
)


@dataclass(frozen=True)
class GiStarResult:
    """Per-feature Gi* results, aligned with the input values."""

    z: np.ndarray
    p: np.ndarray
    gi_bin: np.ndarray
    gi_bin_fdr: np.ndarray | None
    p_sim: np.ndarray | None
    n_neighbours: np.ndarray
    permutations: int | None = None
    seed: int | None = None


def gi_bins(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ArcGIS Gi_Bin without FDR: ±3/±2/±1 at 99/95/90 % confidence, else 0."""
    out = np.zeros(len(z), dtype=np.int8)
    az = np.abs(z)
    for level, zcrit, pcrit in reversed(BIN_LEVELS):
        ok = (az > zcrit) & (p < pcrit)
        out[ok] = level
    return (out * np.sign(np.nan_to_num(z))).astype(np.int8)


def fdr_critical_p(p: np.ndarray, alpha: float) -> float:
    """Benjamini–Hochberg critical p-value at level ``alpha`` (0 when nothing passes)."""
    valid = np.sort(p[np.isfinite(p)])
    n = len(valid)
    if n == 0:
        return 0.0
    passed = np.nonzero(valid <= alpha * np.arange(1, n + 1) / n)[0]
    return float(valid[passed[-1]]) if len(passed) else 0.0


def gi_bins_fdr(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Gi_Bin with the FDR correction: BH critical p per confidence level, signed like z."""
    out = np.zeros(len(z), dtype=np.int8)
    for level, _zcrit, alpha in reversed(BIN_LEVELS):
        pcrit = fdr_critical_p(p, alpha)
        out[np.isfinite(p) & (p <= pcrit) & (pcrit > 0)] = level
    return (out * np.sign(np.nan_to_num(z))).astype(np.int8)


def _as_csr(weights: sp.spmatrix | Weights) -> sp.csr_matrix:
    m = weights.matrix if isinstance(weights, Weights) else weights
    return sp.csr_matrix(m)


def gistar_z(values: np.ndarray, weights: sp.spmatrix | Weights) -> np.ndarray:
    """Analytic Gi* z-scores (weights must already hold the self-weights)."""
    y = np.asarray(values, dtype=float)
    w = _as_csr(weights)
    n = len(y)
    if w.shape != (n, n):
        raise SpatialError(f"weights are {w.shape}, values have {n} features")
    if n < 3:
        raise SpatialError("Gi* needs at least three features")
    if not np.isfinite(y).all():
        raise SpatialError("values must be finite")
    mean = y.mean()
    s = np.sqrt(max((y * y).mean() - mean * mean, 0.0))
    if s <= 1e-12 * max(abs(mean), 1.0):
        raise SpatialError("all values are equal: Gi* is undefined (no variance)")
    wsum = np.asarray(w.sum(axis=1)).ravel()
    w2 = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    num = w @ y - mean * wsum
    den = s * np.sqrt((n * w2 - wsum * wsum) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / den
    # A feature neighbouring every feature has no variance under the null: z is undefined.
    return np.where(den > 0, z, np.nan)


def gistar(
    values: np.ndarray,
    weights: sp.spmatrix | Weights,
    *,
    fdr: bool = False,
    permutations: int | None = None,
    seed: int | None = None,
) -> GiStarResult:
    """Gi* z, two-sided p, Gi_Bin, optional FDR bins and optional permutation pseudo p."""
    w = _as_csr(weights)
    z = gistar_z(values, w)
    p = 2.0 * norm.sf(np.abs(z))
    p_sim = None
    if permutations:
        if permutations < 1:
            raise SpatialError("permutations must be a positive number")
        p_sim = permutation_p(np.asarray(values, dtype=float), w, permutations, seed)
    return GiStarResult(
        z=z,
        p=p,
        gi_bin=gi_bins(z, p),
        gi_bin_fdr=gi_bins_fdr(z, p) if fdr else None,
        p_sim=p_sim,
        n_neighbours=np.diff(w.indptr) - 1,
        permutations=permutations or None,
        seed=seed,
    )


def permutation_p(
    y: np.ndarray, w: sp.csr_matrix, permutations: int, seed: int | None
) -> np.ndarray:
    """Conditional-permutation pseudo p-values (folded, as esda's p_sim)."""
    n = len(y)
    w = sp.csr_matrix(w)
    w.sort_indices()
    self_w = w.diagonal().astype(float)
    offdiag = w - sp.diags(self_w)
    offdiag = sp.csr_matrix(offdiag)
    offdiag.eliminate_zeros()
    kmax = int(np.diff(offdiag.indptr).max()) if n else 0
    if kmax >= n:
        raise SpatialError("a feature neighbours every other one: nothing to permute")
    rng = np.random.default_rng(seed)
    draws = np.empty((permutations, kmax), dtype=np.int64)
    for j in range(permutations):
        draws[j] = rng.choice(n - 1, size=kmax, replace=False)
    observed = w @ y
    larger = _count_larger(y, self_w, offdiag.indptr, offdiag.data.astype(float), draws, observed)
    folded = np.minimum(larger, permutations - larger)
    return (folded + 1.0) / (permutations + 1.0)


@numba.njit(parallel=True, cache=True)
def _count_larger(y, self_w, indptr, data, draws, observed):  # pragma: no cover - numba
    n = len(y)
    perms = draws.shape[0]
    larger = np.zeros(n, dtype=np.int64)
    for i in numba.prange(n):
        start = indptr[i]
        k = indptr[i + 1] - start
        base = self_w[i] * y[i]
        count = 0
        for p in range(perms):
            acc = base
            for t in range(k):
                j = draws[p, t]
                if j >= i:
                    j += 1
                acc += data[start + t] * y[j]
            if acc >= observed[i] - 1e-12 * abs(observed[i]):
                count += 1
        larger[i] = count
    return larger
