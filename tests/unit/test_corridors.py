"""Least-cost paths and corridors: checked against skimage surfaces and independent geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from scipy.spatial import cKDTree
from shapely.ops import unary_union
from skimage.graph import MCP_Geometric

from geomon.errors import SpatialError
from geomon.spatial.corridors import (
    alternative_corridors,
    corridor,
    corridor_polygons,
    corridors_between,
    cut_corridor,
    least_cost_path,
    path_feature,
)

CELL = 10.0
T = Affine(CELL, 0, 500000.0, 0, -CELL, 4000000.0)


def _cost(seed: int = 3, shape: tuple[int, int] = (60, 80)) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 3.0, shape)


def _sk(cost: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    return MCP_Geometric(cost, fully_connected=True, sampling=(CELL, CELL)).find_costs([start])[0]


def test_path_cost_and_length_recomputed_from_its_cells() -> None:
    cost = _cost()
    path = least_cost_path(cost, [(2, 3)], (55, 70), sampling=CELL, transform=T)
    assert (path.rows[0], path.cols[0]) == (2, 3) and (path.rows[-1], path.cols[-1]) == (55, 70)
    steps = np.hypot(np.diff(path.rows), np.diff(path.cols)) * CELL
    assert np.abs(np.diff(path.rows)).max() <= 1 and np.abs(np.diff(path.cols)).max() <= 1
    step_cost = steps * (cost[path.rows[:-1], path.cols[:-1]] + cost[path.rows[1:], path.cols[1:]])
    assert math.isclose(path.total_cost, float(step_cost.sum() / 2), rel_tol=1e-12)
    assert math.isclose(path.total_cost, _sk(cost, (2, 3))[55, 70], rel_tol=1e-9)
    assert math.isclose(path.length_m, float(steps.sum()), rel_tol=1e-12)
    assert path.line is not None and math.isclose(path.line.length, path.length_m)
    assert path.line.coords[0] == (500035.0, 3999975.0)  # centre of cell (2, 3)
    feat = path_feature(path, name="x")
    assert feat["geometry"]["type"] == "LineString"
    assert feat["properties"]["n_cells"] == path.n_cells


def test_unreachable_target_is_an_error() -> None:
    cost = np.ones((5, 5))
    cost[:, 2] = np.inf
    with pytest.raises(SpatialError):
        least_cost_path(cost, [(0, 0)], (0, 4))


def test_corridor_surface_matches_skimage_and_contains_the_path() -> None:
    cost = _cost()
    a, b = (5, 5), (50, 75)
    c = corridor(cost, [a], [b], sampling=CELL, percentile=5, transform=T)
    total = _sk(cost, a) + _sk(cost, b)
    assert math.isclose(c.min_cost, total.min(), rel_tol=1e-9)
    assert math.isclose(c.threshold, float(np.percentile(total, 5)), rel_tol=1e-9)
    assert c.n_cells == int((total <= c.threshold * (1 + 1e-9)).sum())
    assert c.path is not None and math.isclose(c.path.total_cost, c.min_cost, rel_tol=1e-9)
    assert c.mask[c.path.rows, c.path.cols].all()
    assert c.mask[a] and c.mask[b]
    frac = c.n_cells / cost.size
    assert 0.04 <= frac <= 0.06


def test_within_pct_cut() -> None:
    cost = _cost(4)
    total = _sk(cost, (0, 0)) + _sk(cost, (59, 79))
    c = corridor(cost, [(0, 0)], [(59, 79)], sampling=CELL, within_pct=3)
    assert math.isclose(c.threshold, total.min() * 1.03, rel_tol=1e-9)
    inside = total[c.mask]
    assert inside.max() <= c.threshold * (1 + 1e-9)
    assert total[~c.mask].min() > c.threshold * (1 - 1e-9)
    assert c.summary()["rule"] == "within_pct=3"


def test_cut_rules_are_exclusive_and_checked() -> None:
    total = np.array([[1.0, 2.0], [np.inf, 4.0]])
    with pytest.raises(SpatialError):
        cut_corridor(total)
    with pytest.raises(SpatialError):
        cut_corridor(total, percentile=5, within_pct=5)
    with pytest.raises(SpatialError):
        cut_corridor(np.full((2, 2), np.inf), percentile=5)
    assert cut_corridor(total, percentile=100).n_cells == 3  # the inf cell is never inside


def _xy(mask: np.ndarray) -> np.ndarray:
    r, c = np.nonzero(mask)
    return np.column_stack((c * CELL, r * CELL)).astype(float)


def test_alternatives_keep_the_margin_outside_the_endpoint_discs() -> None:
    cost = _cost(5, (70, 90))
    a, b = (35, 5), (35, 84)
    margin, radius = 40.0, 120.0
    alts = alternative_corridors(
        cost, [a], [b], k=3, margin_m=margin, endpoint_radius_m=radius,
        sampling=CELL, percentile=1, transform=T,
    )  # fmt: skip
    assert len(alts) == 3
    ends = np.array([[a[1] * CELL, a[0] * CELL], [b[1] * CELL, b[0] * CELL]])
    for k in range(1, 3):
        earlier = cKDTree(_xy(np.logical_or.reduce([x.mask for x in alts[:k]])))
        pts = _xy(alts[k].mask)
        far_from_ends = cKDTree(ends).query(pts)[0] > radius
        d, _ = earlier.query(pts[far_from_ends])
        assert d.size > 0 and d.min() > margin
        assert alts[k].min_cost >= alts[k - 1].min_cost  # later ones cannot be cheaper
        assert alts[k].path is not None
        assert alts[k].path.rows[0] == a[0] and alts[k].path.rows[-1] == b[0]


def test_alternatives_stop_when_a_and_b_get_disconnected() -> None:
    cost = np.ones((30, 30))
    alts = alternative_corridors(
        cost, [(15, 2)], [(15, 27)], k=5, margin_m=200.0, endpoint_radius_m=30.0,
        sampling=CELL, percentile=20,
    )  # fmt: skip
    assert 1 <= len(alts) < 5


def test_corridors_between_every_pair() -> None:
    cost = _cost(6)
    starts = [[(0, 0)], [(0, 40), (1, 40)]]
    ends = [[(59, 10)], [(59, 70)], [(30, 79)]]
    pairs = corridors_between(cost, starts, ends, sampling=CELL, within_pct=2)
    assert [(p.i, p.j) for p in pairs] == [(i, j) for i in range(2) for j in range(3)]
    for p in pairs:
        direct = corridor(cost, starts[p.i], ends[p.j], sampling=CELL, within_pct=2)
        assert math.isclose(p.corridor.min_cost, direct.min_cost, rel_tol=1e-12)
        assert p.corridor.n_cells == direct.n_cells


def test_polygons_cover_the_corridor_cells() -> None:
    cost = _cost(7)
    c = corridor(cost, [(3, 3)], [(55, 75)], sampling=CELL, percentile=3)
    polys = corridor_polygons(c.mask, T)
    area = unary_union(polys).area
    assert math.isclose(area, c.n_cells * CELL * CELL, rel_tol=1e-9)
    minx, miny, maxx, maxy = unary_union(polys).bounds
    assert minx >= 500000.0 and maxx <= 500000.0 + 80 * CELL and maxy <= 4000000.0


@pytest.mark.parametrize("size", [1, 2, 7, 1000])
def test_in_place_percentile_matches_numpy(size: int) -> None:
    from geomon.spatial.corridors import _percentile_inplace

    vals = np.random.default_rng(size).uniform(0, 100, size)
    for q in (0.5, 1, 25, 50, 99.9, 100):
        assert _percentile_inplace(vals.copy(), q) == pytest.approx(np.percentile(vals, q))
