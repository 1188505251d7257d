"""Gi*: z-scores against esda (oracle) and a hand-worked case; ArcGIS bins; FDR; permutations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import false_discovery_control

from geomon.errors import SpatialError
from geomon.spatial.gistar import fdr_critical_p, gi_bins, gi_bins_fdr, gistar, gistar_z
from geomon.spatial.grid import GridSpec, aggregate_to_grid
from geomon.spatial.weights import contiguity, default_distance_band, distance_band, knn

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")


@pytest.fixture(scope="module")
def hex_grid():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(30000, 6000, 3000), rng.uniform(0, 90000, 2000)])
    y = np.concatenate([rng.normal(20000, 5000, 3000), rng.uniform(0, 60000, 2000)])
    return aggregate_to_grid(x, y, None, GridSpec("hex", 5000.0, (0, 0, 90000, 60000)))


def _esda_z(values, matrix):
    w = libpysal.weights.W.from_sparse(sp.csr_matrix(matrix))
    return esda.G_Local(values, w, transform="B", star=True, permutations=0).Zs


def test_z_equals_esda_on_a_hex_grid_with_a_15km_band(hex_grid):
    w = distance_band(hex_grid.cx, hex_grid.cy, 15000.0)
    ours = gistar(hex_grid.values, w).z
    # Oracle 1: esda given our matrix with self-loops (esda keeps the diagonal as is).
    np.testing.assert_allclose(ours, _esda_z(hex_grid.values, w.matrix), rtol=0, atol=1e-9)
    # Oracle 2: esda given the matrix without self-loops (esda adds self-weight 1 itself).
    no_self = (w.matrix - sp.eye(w.n)).tocsr()
    no_self.eliminate_zeros()
    np.testing.assert_allclose(ours, _esda_z(hex_grid.values, no_self), rtol=0, atol=1e-9)


def test_weights_match_libpysal_builders(hex_grid):
    pts = np.column_stack([hex_grid.cx, hex_grid.cy])
    ours = distance_band(hex_grid.cx, hex_grid.cy, 10001.0).matrix
    ref = libpysal.weights.DistanceBand(pts, threshold=10001.0, binary=True, silence_warnings=True)
    ref_m = (ref.sparse + sp.eye(len(pts))).toarray() > 0
    np.testing.assert_array_equal(ours.toarray() > 0, ref_m)
    ours_k = knn(hex_grid.cx, hex_grid.cy, 4).matrix
    assert (np.diff(ours_k.indptr) == 5).all()  # self + 4 neighbours
    np.testing.assert_allclose(
        gistar_z(hex_grid.values, ours_k), _esda_z(hex_grid.values, ours_k), atol=1e-9
    )


def test_band_default_gives_every_cell_a_neighbour():
    cx = np.array([0.0, 1.0, 5.0, 20.0])
    cy = np.zeros(4)
    assert default_distance_band(cx, cy) == pytest.approx(15.0)
    w = distance_band(cx, cy)
    assert w.threshold == pytest.approx(15.0)
    assert (w.cardinalities >= 1).all()


def test_hand_worked_five_cell_chain():
    # Chain 0-1-2-3-4 with self: x̄ = 4, S = sqrt(130/5 - 16) = sqrt(10).
    # Cell 4: (14 - 4·2) / (sqrt(10)·sqrt((5·2 - 4)/4)) = 6/sqrt(15).
    # Cell 0: (3 - 8)/sqrt(15); cell 2: (9 - 12) / (sqrt(10)·sqrt((15 - 9)/4)) = -3/sqrt(15).
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    m = sp.diags([np.ones(4), np.ones(5), np.ones(4)], [-1, 0, 1]).tocsr()
    z = gistar(values, m).z
    r15 = math.sqrt(15.0)
    np.testing.assert_allclose(z[[0, 2, 4]], [-5 / r15, -3 / r15, 6 / r15], atol=1e-12)
    np.testing.assert_allclose(z, _esda_z(values, m), atol=1e-12)


def test_gi_bin_thresholds_are_arcgis_table():
    z = np.array([2.581, 2.58, 2.0, 1.96, 1.7, 1.65, 1.6, -1.7, -2.0, -3.0])
    p = 2 * (1 - __import__("scipy.stats").stats.norm.cdf(np.abs(z)))
    np.testing.assert_array_equal(gi_bins(z, p), [3, 2, 2, 1, 1, 0, 0, -1, -2, -3])


def test_fdr_bins_follow_benjamini_hochberg_per_level():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    z = np.ones_like(p)
    z[1] = -1.0
    # By hand: critical p is 0.001 at α=.01, 0.008 at α=.05, 0.06 at α=.10.
    assert fdr_critical_p(p, 0.01) == 0.001
    assert fdr_critical_p(p, 0.05) == 0.008
    assert fdr_critical_p(p, 0.10) == 0.06
    np.testing.assert_array_equal(gi_bins_fdr(z, p), [3, -2, 1, 1, 1, 1, 0, 0, 0, 0])
    # Independent reference: scipy's BH adjusted p-values.
    adj = false_discovery_control(p, method="bh")
    for level, alpha in ((3, 0.01), (2, 0.05), (1, 0.10)):
        assert ((np.abs(gi_bins_fdr(z, p)) >= level) == (adj <= alpha)).all()


def test_fdr_is_never_looser_than_plain_bins(hex_grid):
    res = gistar(hex_grid.values, distance_band(hex_grid.cx, hex_grid.cy, 15000.0), fdr=True)
    assert (np.abs(res.gi_bin_fdr) <= np.abs(res.gi_bin)).all()
    assert (res.gi_bin_fdr != 0).any()


def _brute_p_sim(y, m, perms, rng):
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        nbrs = [j for j in m[i].indices if j != i]
        others = np.delete(np.arange(n), i)
        obs = y[i] + y[nbrs].sum()
        sims = np.array(
            [y[i] + y[rng.choice(others, len(nbrs), replace=False)].sum() for _ in range(perms)]
        )
        larger = (sims >= obs).sum()
        out[i] = (min(larger, perms - larger) + 1) / (perms + 1)
    return out


def test_permutation_p_matches_a_brute_force_reference_and_is_seeded():
    rng = np.random.default_rng(3)
    cx, cy = rng.uniform(0, 10, 40), rng.uniform(0, 10, 40)
    y = rng.poisson(4, 40).astype(float) + 8 * (cx < 3)
    w = distance_band(cx, cy, 2.5)
    a = gistar(y, w, permutations=999, seed=11)
    b = gistar(y, w, permutations=999, seed=11)
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    assert ((a.p_sim >= 1 / 1000) & (a.p_sim <= 0.5 + 1e-12)).all()
    ref = _brute_p_sim(y, w.matrix, 2000, np.random.default_rng(5))
    assert np.abs(a.p_sim - ref).max() < 0.06  # Monte Carlo error at these counts


def test_contiguity_queen_and_rook_on_a_3x3_lattice():
    from shapely.geometry import box

    polys = np.array([box(c, r, c + 1, r + 1) for r in range(3) for c in range(3)], dtype=object)
    queen, rook = contiguity(polys, "queen"), contiguity(polys, "rook")
    assert queen.cardinalities.tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]
    assert rook.cardinalities.tolist() == [2, 3, 2, 3, 4, 3, 2, 3, 2]
    ref = libpysal.weights.lat2W(3, 3, rook=False)
    np.testing.assert_array_equal(queen.matrix.toarray() - np.eye(9), ref.sparse.toarray())


def test_constant_values_and_mismatched_weights_are_refused():
    m = sp.eye(4).tocsr()
    with pytest.raises(SpatialError):
        gistar(np.ones(4), m)
    with pytest.raises(SpatialError):
        gistar(np.arange(5.0), m)
