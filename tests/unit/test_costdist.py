"""Accumulated cost distance against scikit-image, scipy's Dijkstra, GRASS r.cost and hand work."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from skimage.graph import MCP_Geometric

from geomon.errors import SpatialError
from geomon.spatial.costdist import (
    BACK_NONE,
    BACK_SOURCE,
    OFFSETS,
    accumulated_cost,
    cells_along_line,
    cells_for_points,
)


def reference_accumulated(
    cost: np.ndarray, sources: list[tuple[int, int]], dy: float = 1.0, dx: float = 1.0
) -> np.ndarray:
    rows, cols = cost.shape
    ok = np.isfinite(cost)
    src, dst, w = [], [], []
    for r in range(rows):
        for c in range(cols):
            if not ok[r, c]:
                continue
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if (dr, dc) == (0, 0) or not (0 <= rr < rows and 0 <= cc < cols):
                        continue
                    if not ok[rr, cc]:
                        continue
                    if dr and dc and not ok[r + dr, c] and not ok[r, c + dc]:
                        continue
                    length = math.hypot(dy, dx) if (dr and dc) else (dy if dr else dx)
                    src.append(r * cols + c)
                    dst.append(rr * cols + cc)
                    w.append(length * (cost[r, c] + cost[rr, cc]) / 2)
    n = rows * cols
    graph = coo_matrix((w, (src, dst)), shape=(n, n)).tocsr()
    idx = [r * cols + c for r, c in sources]
    d = dijkstra(graph, directed=True, indices=idx, min_only=True)
    return np.asarray(d).reshape(rows, cols)


def _skimage(cost: np.ndarray, starts: list[tuple[int, int]], dy: float, dx: float) -> np.ndarray:
    mcp = MCP_Geometric(cost, fully_connected=True, sampling=(dy, dx))
    acc, _ = mcp.find_costs(starts)
    return acc


@pytest.mark.parametrize("seed", range(6))
def test_matches_skimage_on_random_grids_without_barriers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(5, 90)), int(rng.integers(5, 90)))
    cost = rng.uniform(0.01, 10.0, shape)
    dy, dx = float(rng.uniform(1, 50)), float(rng.uniform(1, 50))
    start = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
    ours = accumulated_cost(cost, [start], sampling=(dy, dx)).accumulated
    ref = _skimage(cost, [start], dy, dx)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_float32_input_matches_skimage() -> None:
    cost = np.random.default_rng(9).uniform(0.5, 3, (40, 50)).astype(np.float32)
    ours = accumulated_cost(cost, [(3, 4)], sampling=30.0).accumulated
    ref = _skimage(cost.astype(np.float64), [(3, 4)], 30.0, 30.0)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


def test_grass_r_cost_manual_8_neighbour_example() -> None:
    # r.cost manual, EXAMPLES: input cost surface, start at the boxed 3; output "not using -k"
    cost = np.array(
        [
            [2, 2, 1, 1, 5, 5, 5],
            [2, 2, 8, 8, 5, 2, 1],
            [7, 1, 1, 8, 2, 2, 2],
            [8, 7, 8, 8, 8, 8, 5],
            [8, 8, 1, 1, 5, 3, 9],
            [8, 1, 1, 2, 5, 3, 9],
        ],
        dtype=float,
    )
    expected = np.array(
        [
            [22, 21, 21, 20, 17, 15, 14],
            [20, 19, 22, 20, 15, 12, 11],
            [22, 18, 17, 18, 13, 11, 9],
            [21, 14, 13, 12, 8, 6, 6],
            [16, 13, 8, 7, 4, 0, 6],
            [14, 9, 8, 9, 6, 3, 8],
        ]
    )
    acc = accumulated_cost(cost, [(4, 5)]).accumulated
    # GRASS writes an integer map for integer input, rounding halves up
    np.testing.assert_array_equal(np.floor(acc + 0.5).astype(int), expected)


def test_hand_worked_3x3() -> None:
    cost = np.arange(1, 10, dtype=float).reshape(3, 3)
    r2 = math.sqrt(2)
    expected = np.array(
        [
            [0.0, 1.5, 4.0],
            [2.5, 3 * r2, 1.5 + 4 * r2],
            [8.0, 3 * r2 + 6.5, 10 * r2],
        ]
    )
    res = accumulated_cost(cost, [(0, 0)])
    np.testing.assert_allclose(res.accumulated, expected, rtol=1e-12)
    assert res.backlink[0, 0] == BACK_SOURCE
    assert OFFSETS[res.backlink[2, 2]] == (-1, -1)  # (2,2) is reached diagonally from (1,1)


def _diagonal_wall(n: int = 20, length: int = 14) -> np.ndarray:
    cost = np.ones((n, n))
    for i in range(length):
        cost[i, length - i] = np.inf  # cells touch only at corners
    return cost


def test_thin_diagonal_wall_is_not_crossed() -> None:
    cost = _diagonal_wall()
    start, target = (0, 0), (10, 10)
    ours = accumulated_cost(cost, [start])
    ref = reference_accumulated(cost, [start])
    np.testing.assert_allclose(ours.accumulated, ref, rtol=1e-12)
    # scikit-image slips diagonally between the corner-touching wall cells: a shorter "route"
    sk = _skimage(np.where(np.isfinite(cost), cost, np.inf), [start], 1.0, 1.0)
    assert sk[target] < ours.accumulated[target] - 5
    # the traced path goes around the end of the wall (row 13 / col 1 is its last cell)
    r, c = target
    rows = [r]
    while ours.backlink[r, c] != BACK_SOURCE:
        dr, dc = OFFSETS[ours.backlink[r, c]]
        if dr and dc:
            assert np.isfinite(cost[r + dr, c]) or np.isfinite(cost[r, c + dc])
        r, c = r + dr, c + dc
        assert np.isfinite(cost[r, c])
        rows.append(r)
    assert max(rows) >= 14


def test_fully_sealing_diagonal_wall_leaves_far_side_unreachable() -> None:
    cost = np.ones((12, 12))
    for i in range(12):
        cost[i, 11 - i] = np.nan
    res = accumulated_cost(cost, [(0, 0)])
    assert np.isinf(res.accumulated[11, 11])
    assert res.backlink[11, 11] == BACK_NONE
    assert np.isinf(res.accumulated[0, 11])  # the wall cell itself is never entered


def test_random_barriers_match_graph_reference() -> None:
    rng = np.random.default_rng(4)
    cost = rng.uniform(0.2, 4.0, (25, 30))
    cost[rng.random(cost.shape) < 0.25] = np.inf
    cost[2, 3] = 1.0
    ours = accumulated_cost(cost, [(2, 3)], sampling=(20.0, 30.0)).accumulated
    ref = reference_accumulated(cost, [(2, 3)], dy=20.0, dx=30.0)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_nodata_value_is_impassable() -> None:
    cost = np.ones((5, 5))
    cost[:, 2] = -9999.0
    cost[4, 2] = 1.0
    res = accumulated_cost(cost, [(0, 0)], nodata=-9999.0)
    assert np.isinf(res.accumulated[0, 2])
    ref = reference_accumulated(np.where(cost == -9999.0, np.inf, cost), [(0, 0)])
    np.testing.assert_allclose(res.accumulated, ref)


def test_multiple_sources_are_the_minimum_of_single_sources() -> None:
    rng = np.random.default_rng(5)
    cost = rng.uniform(0.5, 2.0, (30, 40))
    starts = [(0, 0), (29, 39), (15, 5)]
    both = accumulated_cost(cost, starts, sampling=10.0).accumulated
    singles = [accumulated_cost(cost, [s], sampling=10.0).accumulated for s in starts]
    np.testing.assert_allclose(both, np.minimum.reduce(singles), rtol=1e-12)
    np.testing.assert_allclose(both, _skimage(cost, starts, 10.0, 10.0), rtol=1e-9)


def test_line_source_cells_and_accumulation() -> None:
    t = Affine(10.0, 0, 1000.0, 0, -10.0, 2000.0)
    line = LineString([(1005.0, 1905.0), (1195.0, 1905.0)])  # along row 9, cols 0..19
    cells = cells_along_line(line, t, (20, 20))
    assert {tuple(rc) for rc in cells} == {(9, c) for c in range(20)}
    diag = cells_along_line(LineString([(1001.0, 1999.0), (1099.0, 1901.0)]), t, (20, 20))
    steps = np.abs(np.diff(diag[np.lexsort((diag[:, 1], diag[:, 0]))], axis=0)).max(axis=1)
    assert steps.max() == 1  # 8-connected, no gaps
    cost = np.random.default_rng(6).uniform(1, 3, (20, 20))
    acc = accumulated_cost(cost, cells, sampling=10.0).accumulated
    assert np.all(acc[9] == 0)
    np.testing.assert_allclose(acc, _skimage(cost, [tuple(c) for c in cells], 10, 10), rtol=1e-9)


def test_points_to_cells_and_outside_is_an_error() -> None:
    t = Affine(30.0, 0, 500000.0, 0, -30.0, 4500000.0)
    rc = cells_for_points([(500015.0, 4499985.0), (500095.0, 4499900.0)], t, (10, 10))
    assert rc.tolist() == [[0, 0], [3, 3]]
    with pytest.raises(SpatialError):
        cells_for_points([(499000.0, 4499985.0)], t, (10, 10))


def test_stop_at_gives_the_same_target_cost() -> None:
    cost = np.random.default_rng(7).uniform(1, 5, (50, 50))
    full = accumulated_cost(cost, [(0, 0)]).accumulated
    early = accumulated_cost(cost, [(0, 0)], stop_at=(10, 12))
    assert early.accumulated[10, 12] == full[10, 12]
    assert np.isinf(early.accumulated).sum() > 0  # the search really stopped early


@pytest.mark.parametrize(
    ("cost", "sources"),
    [
        (np.array([[1.0, -2.0]]), [(0, 0)]),
        (np.array([[np.inf, 1.0]]), [(0, 0)]),
        (np.ones((2, 2)), [(5, 5)]),
        (np.ones((2, 2)), []),
        (np.ones((0, 0)), [(0, 0)]),
    ],
)
def test_bad_input_raises_spatial_error(cost: np.ndarray, sources: list) -> None:
    with pytest.raises(SpatialError):
        accumulated_cost(cost, sources)


def test_max_cost_keeps_every_cell_below_it_exact() -> None:
    cost = np.random.default_rng(8).uniform(1, 5, (60, 60))
    full = accumulated_cost(cost, [(30, 30)]).accumulated
    capped = accumulated_cost(cost, [(30, 30)], max_cost=40.0).accumulated
    inside = full <= 40.0
    np.testing.assert_array_equal(capped[inside], full[inside])
    assert np.isinf(capped).any() and (capped[~inside] > 40.0).all()
