"""The Knox engine against an independent direct implementation (O(n²) loops over the pair
matrix, the same permutations with the same seed): the tables must be equal, not close."""

from __future__ import annotations

import numpy as np
import pytest

from geomon.errors import SpatialError
from geomon.spatial import near_repeat as nr


def _direct_table(x, y, t, se, te):
    """Count by the definition: every pair i < j, its distance band and time band."""
    n = len(x)
    out = np.zeros((len(se), len(te)), dtype=np.int64)
    for a in range(n):
        dx = x[a] - x[a + 1 :]
        dy = y[a] - y[a + 1 :]
        d = np.sqrt(dx * dx + dy * dy)
        dt = np.abs(t[a] - t[a + 1 :])
        for dd, tt in zip(d, dt, strict=True):
            s_band = next((b for b, e in enumerate(se) if dd <= e), None)
            t_band = next((b for b, e in enumerate(te) if tt <= e), None)
            if s_band is not None and t_band is not None:
                out[s_band, t_band] += 1
    return out


def _direct_knox(x, y, t, se, te, perms, seed):
    obs = _direct_table(x, y, t, se, te)
    rng = np.random.default_rng(seed)
    sims = [_direct_table(x, y, t[rng.permutation(len(x))], se, te) for _ in range(perms)]
    sims = np.array(sims)
    expected = sims.sum(axis=0) / perms
    p = ((sims >= obs).sum(axis=0) + 1) / (perms + 1)
    return obs, expected, p


def _clustered(n, seed):
    """Incidents with real near-repeat structure: seeds, then followers close in space and time,
    with some on identical spots and at identical times (band-edge ties)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10_000, n)
    y = rng.uniform(0, 10_000, n)
    t = rng.integers(0, 365, n).astype(float)
    for k in range(n // 3, n):
        src = rng.integers(0, n // 3)
        x[k] = x[src] + rng.normal(0, 150)
        y[k] = y[src] + rng.normal(0, 150)
        t[k] = t[src] + rng.integers(0, 10)
    x[5], y[5] = x[4], y[4]  # same location
    x[7], y[7] = x[6] + 500.0, y[6]  # exactly on an edge
    return x, y, t


def test_knox_equals_direct_count_and_permutations():
    x, y, t = _clustered(150, 1)
    se, te = [0.0, 200.0, 500.0, 1000.0], [0.0, 7.0, 14.0, 28.0]
    res = nr.knox(x, y, t, se, te, permutations=39, seed=42)
    obs, expected, p = _direct_knox(x, y, t, se, te, 39, 42)
    assert res.observed.tolist() == obs.tolist()
    assert np.array_equal(res.expected, expected)
    assert np.array_equal(res.p_value, p)
    assert obs.sum() > 50  # the data has pairs in the bands: the comparison means something
    # the planted near-repeat structure is found: the nearest cell is significant, above 1
    assert res.ratio[1, 1] > 2 and res.p_value[1, 1] == pytest.approx(1 / 40)


def test_seed_is_reproducible_and_matters():
    x, y, t = _clustered(120, 2)
    a = nr.knox(x, y, t, [300.0], [10.0], permutations=19, seed=7)
    b = nr.knox(x, y, t, [300.0], [10.0], permutations=19, seed=7)
    c = nr.knox(x, y, t, [300.0], [10.0], permutations=19, seed=8)
    assert np.array_equal(a.expected, b.expected)
    assert not np.array_equal(a.expected, c.expected)


def test_band_edges_are_upper_inclusive():
    assert nr.band_index(
        np.array([0.0, 0.1, 100.0, 100.5, 201.0]), np.array([0.0, 100.0, 200.0])
    ).tolist() == [0, 1, 1, 2, 3]


def test_chains_are_connected_components():
    # 0-1-2 chained (each within 100 m and 3 days of the next), 3 too late, 4-5 a second chain
    x = np.array([0.0, 90.0, 180.0, 200.0, 5000.0, 5050.0])
    y = np.zeros(6)
    t = np.array([0.0, 2.0, 4.0, 30.0, 10.0, 11.0])
    ch = nr.chains(x, y, t, 100.0, 3.0)
    assert ch.label.tolist() == [0, 0, 0, -1, 1, 1]
    assert ch.n_chains == 2
    assert sorted(zip(ch.link_i.tolist(), ch.link_j.tolist(), strict=True)) == [
        (0, 1),
        (1, 2),
        (4, 5),
    ]


def test_empty_and_single_inputs():
    res = nr.knox(np.array([1.0]), np.array([1.0]), np.array([1.0]), [10.0], [1.0], permutations=9)
    assert res.observed.tolist() == [[0]] and np.isnan(res.ratio[0, 0])
    assert res.p_value[0, 0] == 1.0
    assert nr.chains(np.empty(0), np.empty(0), np.empty(0), 1.0, 1.0).n_chains == 0


@pytest.mark.parametrize(
    "se,te",
    [
        ([], [1.0]),
        ([100.0, 50.0], [1.0]),
        ([-1.0], [1.0]),
        ([float("nan")], [1.0]),
        ([1.0], [2.0, 2.0]),
    ],
)
def test_bad_bands_are_refused(se, te):
    with pytest.raises(SpatialError):
        nr.knox(np.zeros(3), np.zeros(3), np.zeros(3), se, te, permutations=9)


def test_bad_arrays_are_refused():
    with pytest.raises(SpatialError):
        nr.knox(np.zeros(3), np.zeros(2), np.zeros(3), [1.0], [1.0])
    with pytest.raises(SpatialError):
        nr.knox(np.array([0.0, np.inf]), np.zeros(2), np.zeros(2), [1.0], [1.0])
    with pytest.raises(SpatialError):
        nr.knox(np.zeros(2), np.zeros(2), np.zeros(2), [1.0], [1.0], permutations=0)
