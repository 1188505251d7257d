"""Binary spatial weights that include each feature itself (the Gi* convention), as scipy CSR.

Three conceptualisations, as in ArcGIS Hot Spot Analysis:

* fixed distance band: j is a neighbour of i when their distance is ≤ the band (plus a 1e-9
  relative tolerance, so lattice neighbours at exactly the band are not lost to rounding);
  the default band is ArcGIS's: the smallest distance that gives every feature at least one
  neighbour (the largest nearest-neighbour distance), reported in ``Weights.threshold``;
* k nearest neighbours (asymmetric, like ArcGIS and libpysal KNN);
* queen / rook contiguity for polygons (shared boundary point / shared boundary segment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from geomon.errors import SpatialError

log = logging.getLogger(__name__)

BAND_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Weights:
    """A binary weights matrix with self-weights on the diagonal, and how it was built."""

    matrix: sp.csr_matrix
    kind: str
    threshold: float | None = None
    k: int | None = None

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def cardinalities(self) -> np.ndarray:
        """Neighbour count per feature, not counting the feature itself."""
        return np.diff(self.matrix.indptr) - 1

    def summary(self) -> dict[str, float | int | str | None]:
        card = self.cardinalities
        return {
            "kind": self.kind,
            "threshold_m": self.threshold,
            "k": self.k,
            "n": self.n,
            "min_neighbours": int(card.min()) if len(card) else 0,
            "max_neighbours": int(card.max()) if len(card) else 0,
            "mean_neighbours": float(card.mean()) if len(card) else 0.0,
            "n_without_neighbours": int((card == 0).sum()),
        }


def _coords(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    pts = np.column_stack([np.asarray(cx, dtype=float), np.asarray(cy, dtype=float)])
    if len(pts) < 2:
        raise SpatialError("spatial weights need at least two features")
    if not np.isfinite(pts).all():
        raise SpatialError("feature coordinates must be finite")
    return pts


def _binary_with_self(n: int, rows: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
    diag = np.arange(n)
    r = np.concatenate([rows, diag])
    c = np.concatenate([cols, diag])
    m = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def default_distance_band(cx: np.ndarray, cy: np.ndarray) -> float:
    """ArcGIS's default band: the distance that ensures every feature has ≥ 1 neighbour."""
    pts = _coords(cx, cy)
    d, _ = cKDTree(pts).query(pts, k=2)
    return float(d[:, 1].max())


def distance_band(cx: np.ndarray, cy: np.ndarray, threshold: float | None = None) -> Weights:
    """Binary fixed-distance-band weights (self included); default band as ArcGIS chooses."""
    pts = _coords(cx, cy)
    if threshold is None:
        threshold = default_distance_band(cx, cy)
        log.info("distance band chosen from the data: %.1f m", threshold)
    if not threshold > 0:
        raise SpatialError(f"distance band must be positive, not {threshold}")
    tree = cKDTree(pts)
    pairs = tree.query_pairs(threshold * (1 + BAND_TOLERANCE), output_type="ndarray")
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    m = _binary_with_self(len(pts), rows, cols)
    return Weights(m, "distance_band", threshold=float(threshold))


def knn(cx: np.ndarray, cy: np.ndarray, k: int) -> Weights:
    """Binary k-nearest-neighbour weights plus self (row i: i and its k nearest others)."""
    pts = _coords(cx, cy)
    if not 1 <= k < len(pts):
        raise SpatialError(f"k must be between 1 and {len(pts) - 1}, not {k}")
    _, idx = cKDTree(pts).query(pts, k=k + 1)
    n = len(pts)
    # Coincident points can push "self" out of the first k+1 hits: drop self wherever it
    # is (or the farthest hit when self is absent) so each row keeps exactly k others.
    drop = idx == np.arange(n)[:, None]
    drop[~drop.any(axis=1), -1] = True
    others = idx[~drop].reshape(n, k)
    m = _binary_with_self(n, np.repeat(np.arange(n), k), others.ravel())
    return Weights(m, "knn", k=int(k))


def contiguity(polygons: np.ndarray, rule: Literal["queen", "rook"] = "queen") -> Weights:
    """Queen (any shared boundary point) or rook (shared boundary of positive length)."""
    geoms = np.asarray(polygons, dtype=object)
    if len(geoms) < 2:
        raise SpatialError("contiguity weights need at least two polygons")
    if rule not in ("queen", "rook"):
        raise SpatialError(f"unknown contiguity rule {rule!r} (queen or rook)")
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    off = left != right
    left, right = left[off], right[off]
    if rule == "rook" and len(left):
        shared = shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
        keep = shapely.length(shared) > 0
        left, right = left[keep], right[keep]
    m = _binary_with_self(len(geoms), left, right)
    return Weights(m, rule)
