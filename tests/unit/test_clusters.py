"""DBSCAN (eps in metres) against scikit-learn's DBSCAN as an oracle; hulls cover clusters."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geomon.errors import SpatialError
from geomon.spatial.clusters import cluster_hulls, dbscan

sklearn_cluster = pytest.importorskip("sklearn.cluster")


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize(("eps", "min_count"), [(250.0, 5), (400.0, 10), (150.0, 3)])
def test_matches_sklearn_on_core_points_and_noise(eps, min_count):
    rng = np.random.default_rng(3)
    pts = np.vstack(
        [
            rng.normal([0, 0], 300, (300, 2)),
            rng.normal([4000, 500], 200, (200, 2)),
            rng.normal([1500, 3000], 500, (150, 2)),
            rng.uniform(-3000, 8000, (200, 2)),
        ]
    )
    ours = dbscan(pts[:, 0], pts[:, 1], eps, min_count)
    ref = sklearn_cluster.DBSCAN(eps=eps, min_samples=min_count).fit(pts)
    core = np.zeros(len(pts), bool)
    core[ref.core_sample_indices_] = True
    assert _same_partition(ours[core], ref.labels_[core])
    np.testing.assert_array_equal(ours == -1, ref.labels_ == -1)
    # A border point may sit between clusters; it must join one of its reachable cores.
    for i in np.nonzero(~core & (ours >= 0))[0]:
        d = np.hypot(*(pts[core] - pts[i]).T)
        assert ours[i] in set(ours[core][d <= eps].tolist())


def test_hulls_contain_their_points_and_labels_start_at_zero():
    rng = np.random.default_rng(4)
    pts = np.vstack([rng.normal([0, 0], 50, (40, 2)), rng.normal([1000, 0], 50, (30, 2))])
    labels = dbscan(pts[:, 0], pts[:, 1], 60.0, 4)
    assert labels[0] == 0 and set(labels.tolist()) <= {-1, 0, 1}
    hulls = cluster_hulls(pts[:, 0], pts[:, 1], labels)
    assert [h.label for h in hulls] == [0, 1]
    for h in hulls:
        sel = labels == h.label
        assert h.count == sel.sum()
        assert shapely.intersects_xy(h.hull, pts[sel, 0], pts[sel, 1]).all()
        assert h.hull.geom_type == "Polygon"


def test_bad_parameters_are_refused():
    with pytest.raises(SpatialError):
        dbscan(np.zeros(3), np.zeros(3), 0.0, 2)
    with pytest.raises(SpatialError):
        dbscan(np.zeros(3), np.zeros(3), 1.0, 0)
    assert dbscan(np.array([]), np.array([]), 1.0, 2).size == 0
