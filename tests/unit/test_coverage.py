"""Patrol coverage on small grids whose answers can be counted by hand."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from geomon.errors import SpatialError
from geomon.spatial.coverage import (
    HIGH_COVERED,
    HIGH_UNCOVERED,
    NODATA,
    coverage,
    disc_offsets,
    high_risk_mask,
    near_cells,
    near_flat,
    next_patrol,
    ranked_for_team,
    track_cells,
)

# 10 x 10 cells of 10 m; origin (0, 100) top-left, so row r spans y in [90-10r, 100-10r).
T = Affine(10, 0, 0, 0, -10, 100)


def test_track_cells_fills_gaps_between_sparse_fixes() -> None:
    # two fixes 90 m apart along row 0 (y = 95): every cell in between is visited
    cells = track_cells(np.array([5.0, 95.0]), np.array([95.0, 95.0]), T, (10, 10))
    assert cells.tolist() == list(range(10))
    # a diagonal from cell (0,0) to (9,9) passes through every diagonal cell
    diag = track_cells(np.array([5.0, 95.0]), np.array([95.0, 5.0]), T, (10, 10))
    assert set(range(0, 100, 11)) <= set(diag.tolist())
    # a break between fixes: only the two end cells
    brk = track_cells(
        np.array([5.0, 95.0]), np.array([95.0, 95.0]), T, (10, 10), breaks=np.array([False, True])
    )
    assert brk.tolist() == [0, 9]
    # off-grid fixes are ignored
    assert track_cells(np.array([-50.0]), np.array([95.0]), T, (10, 10)).size == 0


def test_near_cells_is_a_disc_of_cell_centres() -> None:
    visited = np.zeros((11, 11), dtype=bool)
    visited[5, 5] = True
    near = near_cells(visited, 10.0, 20.0)
    rr, cc = np.mgrid[0:11, 0:11]
    expected = (rr - 5) ** 2 + (cc - 5) ** 2 <= 4  # within 2 cells (20 m) centre to centre
    assert (near == expected).all() and near.sum() == 13


@pytest.mark.parametrize("distance", [0.0, 10.0, 25.0, 47.0])
def test_disc_stencil_equals_the_distance_transform(distance: float) -> None:
    rng = np.random.default_rng(int(distance))
    visited = rng.random((40, 30)) < 0.01
    visited[0, 0] = visited[39, 29] = True  # at the edges
    cells = np.flatnonzero(visited)
    stencil = np.zeros(visited.size, dtype=bool)
    stencil[near_flat(cells, visited.shape, disc_offsets(10.0, distance))] = True
    assert (stencil.reshape(visited.shape) == near_cells(visited, 10.0, distance)).all()


def test_high_risk_mask_top_percent_and_threshold() -> None:
    risk = np.arange(100, dtype=float).reshape(10, 10)
    high, thr = high_risk_mask(risk, top_pct=10)
    assert high.sum() == 10 and thr == pytest.approx(89.1)
    high, thr = high_risk_mask(risk, threshold=95)
    assert high.sum() == 5 and thr == 95
    risk[0, 0] = -1
    high, _ = high_risk_mask(risk, threshold=-5, nodata=-1)
    assert high.sum() == 99
    with pytest.raises(SpatialError):
        high_risk_mask(np.full((2, 2), np.nan), top_pct=10)


@pytest.mark.parametrize("path", ["stencil", "edt"])
def test_coverage_counts_per_team_zone_and_total(path: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if path == "edt":
        monkeypatch.setattr("geomon.spatial.coverage.STENCIL_MAX_PAIRS", 0)
    risk = np.zeros((10, 10))
    risk[:, 8:] = 1.0  # high risk: the two right-most columns (20 cells)
    # team a drives down column 9 from row 0 to row 4; team b sits at cell (9, 0)
    tracks = {
        "a": (np.array([95.0, 95.0]), np.array([95.0, 55.0])),
        "b": (np.array([5.0]), np.array([5.0])),
    }
    zone = np.zeros((10, 10), dtype=bool)
    zone[:5, :] = True
    cov = coverage(risk, T, tracks, distance_m=10.0, threshold=1.0, zone_masks={7: zone})
    # team a visits rows 0-4 of column 9; within 10 m: rows 0-5 of col 9 and rows 0-4 of col 8
    assert cov.per_team["a"].covered_cells == 11 and cov.per_team["a"].high_cells == 20
    assert cov.per_team["b"].covered_cells == 0
    assert cov.total.covered_cells == 11 and cov.total.share == pytest.approx(0.55)
    assert cov.per_zone[7].high_cells == 10 and cov.per_zone[7].covered_cells == 10
    assert (cov.layer == HIGH_COVERED).sum() == 11
    assert (cov.layer == HIGH_UNCOVERED).sum() == 9


def test_layer_marks_nodata() -> None:
    risk = np.ones((3, 3))
    risk[1, 1] = np.nan
    cov = coverage(risk, T, {}, 10.0, threshold=1.0)
    assert cov.layer[1, 1] == NODATA and cov.total.high_cells == 8


def test_next_patrol_ranks_by_risk_times_area_and_distance() -> None:
    risk = np.zeros((10, 10))
    risk[0:2, 0:2] = 5.0  # area A: 4 cells, Σrisk 20  → score 20 * 100 m²
    risk[8:10, 5:10] = 1.0  # area B: 10 cells, Σrisk 10 → score 10 * 100 m²
    high = risk > 0
    areas, labels = next_patrol(
        risk, high, T, {"near_b": (75.0, 10.0), "near_a": (10.0, 90.0)}, distance_scale_m=10.0
    )
    assert [a.cells for a in areas] == [4, 10]
    assert [a.score for a in areas] == [2000.0, 1000.0]
    assert labels.max() == 2
    a, b = areas
    assert (a.x, a.y) == (10.0, 90.0)  # centroid of the 2x2 block
    assert a.distance_m["near_a"] == 0.0
    assert b.distance_m["near_b"] == 0.0
    # near_b: A is ~100 m away (priority 2000/(1+~9)) < B at distance 0 (priority 1000)
    assert [x.cells for x in ranked_for_team(areas, "near_b")] == [10, 4]
    assert [x.cells for x in ranked_for_team(areas, "near_a")] == [4, 10]


def test_no_uncovered_area() -> None:
    areas, labels = next_patrol(np.ones((3, 3)), np.zeros((3, 3), bool), T, {})
    assert areas == [] and labels.max() == 0
