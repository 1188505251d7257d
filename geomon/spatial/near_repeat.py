"""Near-repeat analysis: the Knox test with Monte Carlo permutations, as Ratcliffe's Near Repeat
Calculator computes it, and the chains of near-repeat incidents.

Inputs are arrays: incident coordinates in a metric CRS (metres; the caller projects with
pyproj and records which CRS) and times in days. The analyst gives the bands as increasing
upper edges: space ``[0, 500, 1000, 2000]`` m means the bands ``[0, 0]`` (same location),
``(0, 500]``, ``(500, 1000]``, ``(1000, 2000]``; time ``[14, 28]`` days means ``[0, 14]`` and
``(14, 28]``. A pair of incidents is counted in the cell (space band, time band) of its distance
and its time difference; pairs beyond the last edge of either are not counted.

Expected counts come from permutations: permutation ``k`` (0-based) is the ``k``-th call of
``numpy.random.default_rng(seed).permutation(n)``, and incident ``i`` takes the time
``t[p[i]]`` (times shuffled over the fixed locations, which keeps both the spatial and the
temporal distribution and breaks only their interaction). Per cell:

- ``expected`` = mean count over the permutations,
- ``ratio`` = observed / expected (the Knox ratio; NaN when expected is 0),
- ``p_value`` = (number of permutations with count >= observed + 1) / (permutations + 1).

Pairs are found once with a KD-tree (``scipy.spatial.cKDTree``) up to the last space edge: the
locations never move, only the times do, so each permutation costs O(close pairs), not O(n²).
Distances are recomputed here as ``sqrt(dx² + dy²)`` so that band edges are decided by one
formula, not by the tree's own arithmetic.

Chains: incidents linked by a pair inside the first space band and the first time band (with
their observed times), as connected components (``scipy.sparse.csgraph``); singletons are not
chains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geomon.errors import SpatialError

MAX_BANDS = 50


@dataclass(frozen=True)
class KnoxResult:
    """Band-cell tables, all shaped (space bands, time bands)."""

    space_edges: np.ndarray
    time_edges: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    ratio: np.ndarray
    p_value: np.ndarray
    permutations: int
    seed: int
    n: int
    n_close_pairs: int


@dataclass(frozen=True)
class Chains:
    """``label[i]`` = chain of incident ``i`` (-1: in no chain); links as index pairs."""

    label: np.ndarray
    link_i: np.ndarray
    link_j: np.ndarray

    @property
    def n_chains(self) -> int:
        return int(self.label.max()) + 1 if len(self.label) and self.label.max() >= 0 else 0


def check_edges(edges: np.ndarray | list[float], what: str) -> np.ndarray:
    """Band upper edges: finite, >= 0, strictly increasing, at most MAX_BANDS."""
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or len(e) == 0:
        raise SpatialError(f"{what} bands need at least one upper edge")
    if len(e) > MAX_BANDS:
        raise SpatialError(f"at most {MAX_BANDS} {what} bands")
    if not np.isfinite(e).all() or e[0] < 0 or (np.diff(e) <= 0).any():
        raise SpatialError(f"{what} band edges must be finite, >= 0 and strictly increasing")
    return e


def band_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Band of each value: ``edges[b-1] < v <= edges[b]`` (band 0 is ``[0, edges[0]]``);
    ``len(edges)`` for values beyond the last edge."""
    return np.searchsorted(edges, values, side="left")


def close_pairs(x: np.ndarray, y: np.ndarray, max_d: float) -> tuple[np.ndarray, ...]:
    """All pairs i < j with distance <= max_d, and the distance: (i, j, d)."""
    xy = np.column_stack([x, y])
    if len(xy) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.float64)
    tree = cKDTree(xy)
    # a hair wider than asked, then decided by our own distance formula
    pairs = tree.query_pairs(max_d * (1 + 1e-9) + 1e-9, output_type="ndarray")
    i = pairs[:, 0].astype(np.int64)
    j = pairs[:, 1].astype(np.int64)
    dx = x[i] - x[j]
    dy = y[i] - y[j]
    d = np.sqrt(dx * dx + dy * dy)
    keep = d <= max_d
    lo = np.minimum(i[keep], j[keep])
    hi = np.maximum(i[keep], j[keep])
    return lo, hi, d[keep]


def _validate(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if not (x.shape == y.shape == t.shape) or x.ndim != 1:
        raise SpatialError("x, y and t must be one-dimensional arrays of the same length")
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(t).all()):
        raise SpatialError("coordinates and times must be finite")
    return x, y, t


def knox(
    x: np.ndarray,
    y: np.ndarray,
    t_days: np.ndarray,
    space_edges: np.ndarray | list[float],
    time_edges: np.ndarray | list[float],
    *,
    permutations: int = 999,
    seed: int = 0,
) -> KnoxResult:
    """The Knox table with Monte Carlo expectation (see the module docstring)."""
    x, y, t = _validate(x, y, t_days)
    se = check_edges(space_edges, "space")
    te = check_edges(time_edges, "time")
    if not 1 <= permutations <= 99_999:
        raise SpatialError("permutations must be between 1 and 99999")
    n = len(x)
    ns, nt = len(se), len(te)
    i, j, d = close_pairs(x, y, float(se[-1]))
    base = band_index(d, se) * (nt + 1)  # (nt + 1): one spill column for "beyond time"
    size = ns * (nt + 1)

    def table(tt: np.ndarray) -> np.ndarray:
        cell = base + band_index(np.abs(tt[i] - tt[j]), te)
        return np.bincount(cell, minlength=size).reshape(ns, nt + 1)[:, :nt]

    observed = table(t)
    rng = np.random.default_rng(seed)
    total = np.zeros((ns, nt), dtype=np.float64)
    at_least = np.zeros((ns, nt), dtype=np.int64)
    for _ in range(permutations):
        sim = table(t[rng.permutation(n)])
        total += sim
        at_least += sim >= observed
    expected = total / permutations
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    return KnoxResult(
        space_edges=se,
        time_edges=te,
        observed=observed.astype(np.int64),
        expected=expected,
        ratio=ratio,
        p_value=(at_least + 1) / (permutations + 1),
        permutations=permutations,
        seed=seed,
        n=n,
        n_close_pairs=len(i),
    )


def chains(
    x: np.ndarray, y: np.ndarray, t_days: np.ndarray, space_m: float, time_days: float
) -> Chains:
    """Near-repeat chains: connected components of pairs within ``space_m`` and ``time_days``."""
    x, y, t = _validate(x, y, t_days)
    n = len(x)
    i, j, _ = close_pairs(x, y, float(space_m))
    near = np.abs(t[i] - t[j]) <= time_days
    i, j = i[near], j[near]
    label = np.full(n, -1, dtype=np.int64)
    if len(i):
        graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        sizes = np.bincount(comp)
        member = sizes[comp] >= 2
        # renumber chains 0.. in order of their first incident
        uniq, first = np.unique(comp[member], return_index=True)
        order = np.argsort(np.flatnonzero(member)[first])
        remap = np.empty(len(uniq), dtype=np.int64)
        remap[order] = np.arange(len(uniq))
        label[member] = remap[np.searchsorted(uniq, comp[member])]
    return Chains(label=label, link_i=i, link_j=j)
