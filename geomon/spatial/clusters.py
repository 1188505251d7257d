"""Density clusters: DBSCAN with eps in metres and a minimum count, and cluster hulls.

Implemented on scipy's cKDTree and connected components (no scikit-learn at run time; the
tests use scikit-learn's DBSCAN as the oracle). Definitions as in Ester et al. (1996) and
scikit-learn / PostGIS ST_ClusterDBSCAN: a core point has at least ``min_count`` points
(itself included) within ``eps``; core points within ``eps`` of each other share a cluster;
a border point joins the cluster of its nearest core point; everything else is noise (-1).
(A border point within reach of two clusters is ambiguous in DBSCAN; we pick the nearest core
point, scikit-learn picks by visiting order.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geomon.errors import SpatialError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cluster:
    """One cluster: its label, how many points it holds, and its convex hull."""

    label: int
    count: int
    hull: shapely.Geometry


def dbscan(x: np.ndarray, y: np.ndarray, eps: float, min_count: int) -> np.ndarray:
    """Cluster labels 0..k-1 per point (noise = -1), ordered by first appearance."""
    pts = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    if not eps > 0:
        raise SpatialError(f"eps must be a positive distance in metres, not {eps}")
    if min_count < 1:
        raise SpatialError(f"min count must be at least 1, not {min_count}")
    n = len(pts)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if not np.isfinite(pts).all():
        raise SpatialError("point coordinates must be finite")
    tree = cKDTree(pts)
    pairs = tree.query_pairs(eps, output_type="ndarray")
    degree = np.bincount(pairs.ravel(), minlength=n) + 1
    core = degree >= min_count
    cc = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]
    graph = sp.coo_matrix((np.ones(len(cc)), (cc[:, 0], cc[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    labels = np.full(n, -1, dtype=np.int64)
    labels[core] = comp[core]
    border = np.nonzero(~core)[0]
    if len(border) and core.any():
        core_idx = np.nonzero(core)[0]
        d, j = cKDTree(pts[core_idx]).query(pts[border], distance_upper_bound=eps * (1 + 1e-12))
        reach = np.isfinite(d)
        labels[border[reach]] = comp[core_idx[j[reach]]]
    return _relabel(labels)


def _relabel(labels: np.ndarray) -> np.ndarray:
    out = np.full_like(labels, -1)
    valid = labels >= 0
    if valid.any():
        _, first = np.unique(labels[valid], return_index=True)
        order = np.argsort(first)
        mapping = np.empty(order.size, dtype=np.int64)
        mapping[order] = np.arange(order.size)
        _, inv = np.unique(labels[valid], return_inverse=True)
        out[valid] = mapping[inv]
    return out


def cluster_hulls(x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> list[Cluster]:
    """Convex hull of each cluster (a point or a line when the cluster is degenerate)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = []
    for label in np.unique(labels[labels >= 0]):
        sel = labels == label
        hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x[sel], y[sel]])))
        out.append(Cluster(int(label), int(sel.sum()), hull))
    return out
