"""Emerging hot spots: space-time Gi*, Mann-Kendall, and one constructed series per pattern."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import kendalltau, norm

from geomon.spatial.ehsa import (
    PATTERNS,
    classify_patterns,
    emerging_hotspots,
    mann_kendall,
    space_time_gistar,
)
from geomon.spatial.gistar import gistar_z
from geomon.spatial.grid import GridSpec, aggregate_to_grid
from geomon.spatial.weights import distance_band

UP, DOWN, FLAT = (5.0, 0.001), (-5.0, 0.001), (0.3, 0.7)


def _classify(series: str, trend=FLAT) -> str:
    hot = np.array([[c == "H" for c in series]])
    cold = np.array([[c == "C" for c in series]])
    code = classify_patterns(hot, cold, np.array([trend[0]]), np.array([trend[1]]))
    return PATTERNS[int(code[0])]


@pytest.mark.parametrize(
    ("series", "trend", "expected"),
    [
        ("..........", FLAT, "no pattern"),
        ("HH...C....", FLAT, "no pattern"),
        (".........H", FLAT, "new hot spot"),
        ("......HHHH", FLAT, "consecutive hot spot"),
        ("HHHHHHHHHH", UP, "intensifying hot spot"),
        ("HHHHHHHHHH", FLAT, "persistent hot spot"),
        (".HHHHHHHHH", DOWN, "diminishing hot spot"),
        ("H..H...H.H", FLAT, "sporadic hot spot"),
        ("...H..C.HH", FLAT, "oscillating hot spot"),
        ("HHHHHHHHH.", FLAT, "historical hot spot"),
        (".........C", FLAT, "new cold spot"),
        ("....CCCCCC", FLAT, "consecutive cold spot"),
        ("CCCCCCCCCC", DOWN, "intensifying cold spot"),
        ("CCCCCCCCCC", FLAT, "persistent cold spot"),
        ("CCCCCCCCCC", UP, "diminishing cold spot"),
        ("C...CC...C", FLAT, "sporadic cold spot"),
        ("C.H.C....C", FLAT, "oscillating cold spot"),
        ("CCCCCCCCC.", FLAT, "historical cold spot"),
    ],
)
def test_each_pattern_on_a_constructed_series(series, trend, expected):
    assert _classify(series, trend) == expected


@pytest.mark.parametrize(
    ("series", "trend", "expected"),
    [
        # Overlaps resolved by the documented precedence (docs/emerging-hotspots.md).
        ("C........H", FLAT, "new hot spot"),  # new before oscillating
        ("C.......HH", FLAT, "consecutive hot spot"),  # consecutive before oscillating
        ("HHHHHHHHHC", FLAT, "new cold spot"),  # final step decides the side
        ("HHHHHHHHH.", UP, "historical hot spot"),  # not final hot: no trend pattern
        ("HH.HHHHHHH", UP, "intensifying hot spot"),  # 90 % beats consecutive/sporadic
        ("HHHHHHHHHH", (5.0, 0.2), "persistent hot spot"),  # trend not significant
    ],
)
def test_precedence_between_overlapping_definitions(series, trend, expected):
    assert _classify(series, trend) == expected


def test_space_time_gistar_equals_gistar_on_explicit_space_time_weights():
    rng = np.random.default_rng(4)
    n, steps, window = 25, 7, 2
    cx, cy = rng.uniform(0, 10, n), rng.uniform(0, 10, n)
    w = distance_band(cx, cy, 3.0)
    cube = rng.poisson(3, (n, steps)).astype(float)
    z, p = space_time_gistar(cube, w, window)
    # Oracle: bins (t, i) time-major, neighbours = spatial neighbours at t-window..t.
    lag = np.zeros((steps, steps))
    for t in range(steps):
        lag[t, max(0, t - window) : t + 1] = 1
    big = sp.kron(sp.csr_matrix(lag), w.matrix).tocsr()
    expected = gistar_z(cube.T.ravel(), big).reshape(steps, n).T
    np.testing.assert_allclose(z, expected, atol=1e-12)
    np.testing.assert_allclose(p, 2 * norm.sf(np.abs(expected)), atol=1e-12)
    esda = pytest.importorskip("esda")
    libpysal = pytest.importorskip("libpysal")
    lg = esda.G_Local(
        cube.T.ravel(),
        libpysal.weights.W.from_sparse(big),
        transform="B",
        star=True,
        permutations=0,
    )
    np.testing.assert_allclose(z, lg.Zs.reshape(steps, n).T, atol=1e-9)


def test_mann_kendall_matches_kendall_tau_and_brute_force():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 4, (6, 15)).astype(float)  # many ties
    s, var, z, p = mann_kendall(x)
    for r in range(len(x)):
        brute = sum(np.sign(x[r, j] - x[r, i]) for i in range(15) for j in range(i + 1, 15))
        assert s[r] == brute
        ref = kendalltau(np.arange(15), x[r], method="asymptotic")
        # Same variance (ties in the series only): without continuity correction p matches.
        assert 2 * norm.sf(abs(s[r]) / np.sqrt(var[r])) == pytest.approx(ref.pvalue, rel=1e-9)
        corrected = (s[r] - np.sign(s[r])) / np.sqrt(var[r])
        assert z[r] == pytest.approx(corrected)


def test_a_growing_cluster_is_found_as_an_emerging_hot_spot():
    rng = np.random.default_rng(12)
    spec = GridSpec("square", 1000.0, (0, 0, 20000, 20000))
    steps = 24
    cube = []
    for t in range(steps):
        bx, by = rng.uniform(0, 20000, 400), rng.uniform(0, 20000, 400)
        k = 20 * t  # a cluster that starts from nothing and grows every month
        cx, cy = rng.normal(10000, 1200, k), rng.normal(10000, 1200, k)
        g = aggregate_to_grid(np.r_[bx, cx], np.r_[by, cy], None, spec)
        cube.append(g.values)
    cube = np.array(cube).T
    w = distance_band(g.cx, g.cy, 1500.0)
    res = emerging_hotspots(cube, w, time_window=1)
    centre = int(np.argmin(np.hypot(g.cx - 10500, g.cy - 10500)))
    corner = int(np.argmin(np.hypot(g.cx - 500, g.cy - 500)))
    assert res.trend_z[centre] > 3 and res.trend_p[centre] < 0.01
    assert res.pattern_names[centre] in ("consecutive hot spot", "intensifying hot spot")
    assert "hot" not in res.pattern_names[corner]
    assert res.bins.shape == cube.shape
