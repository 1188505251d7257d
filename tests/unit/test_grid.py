"""Grid aggregation: anchoring, nearest-centre hexagons, kept cells, conservation of counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Polygon, box

from geomon.errors import SpatialError
from geomon.spatial.grid import GridSpec, aggregate_to_grid


def test_square_grid_is_anchored_at_the_extent_lower_left():
    x = np.array([0.1, 3.9, 9.99, 5.0])
    y = np.array([0.1, 2.1, 9.99, 5.0])
    g = aggregate_to_grid(x, y, None, GridSpec("square", 2.0, (0.0, 0.0, 10.0, 10.0)))
    assert len(g) == 25  # every cell of the extent, empty ones included
    by_centre = {(float(a), float(b)): v for a, b, v in zip(g.cx, g.cy, g.values, strict=True)}
    assert by_centre[(1.0, 1.0)] == 1  # (0.1, 0.1)
    assert by_centre[(3.0, 3.0)] == 1  # (3.9, 2.1): column 1, row 1
    assert by_centre[(9.0, 9.0)] == 1
    assert by_centre[(5.0, 5.0)] == 1  # (5, 5) sits on a corner: half-open cells go up-right
    assert g.values.sum() == 4 and g.n_points_dropped == 0


def test_square_sums_a_value_field_and_drops_points_outside_the_extent():
    x = np.array([1.0, 1.5, 50.0])
    y = np.array([1.0, 1.5, 50.0])
    g = aggregate_to_grid(x, y, np.array([2.5, 4.0, 100.0]), GridSpec("square", 2.0, (0, 0, 4, 4)))
    assert g.values.max() == pytest.approx(6.5)
    assert g.values.sum() == pytest.approx(6.5)
    assert g.n_points_dropped == 1 and g.n_points_used == 2


def test_without_extent_only_cells_with_points_are_kept():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1000, 50), rng.uniform(0, 1000, 50)
    g = aggregate_to_grid(x, y, None, GridSpec("square", 100.0))
    assert (g.values > 0).all()
    assert g.values.sum() == 50
    g_all = aggregate_to_grid(x, y, None, GridSpec("square", 100.0), keep_empty=True)
    assert len(g_all) >= len(g) and (g_all.values == 0).any()


def test_hex_points_go_to_the_nearest_centre_and_inside_their_hexagon():
    rng = np.random.default_rng(2)
    s = 5000.0
    x, y = rng.uniform(0, 60000, 3000), rng.uniform(0, 40000, 3000)
    g = aggregate_to_grid(x, y, None, GridSpec("hex", s, (0, 0, 60000, 40000)))
    assert g.values.sum() == 3000
    # Independent check: brute nearest centre over the kept cells.
    _, nearest = cKDTree(np.column_stack([g.cx, g.cy])).query(np.column_stack([x, y]))
    counts = np.bincount(nearest, minlength=len(g))
    np.testing.assert_array_equal(counts, g.values)
    polys = g.polygons()
    assert shapely.contains_xy(polys[nearest], x, y).mean() > 0.999  # boundary ties aside


def test_hex_cells_have_the_right_size_and_spacing():
    g = aggregate_to_grid(
        np.array([0.0]), np.array([0.0]), None, GridSpec("hex", 1000.0, (0, 0, 10000, 10000))
    )
    areas = shapely.area(g.polygons())
    np.testing.assert_allclose(areas, math.sqrt(3) / 2 * 1000.0**2)
    d, _ = cKDTree(np.column_stack([g.cx, g.cy])).query(np.column_stack([g.cx, g.cy]), k=7)
    np.testing.assert_allclose(d[len(g) // 2, 1:], 1000.0)  # an interior cell: six at s
    # Hexagons tile: no overlap between neighbours.
    p = g.polygons()
    assert shapely.area(shapely.intersection(p[0], p[1])) < 1e-6


def test_aoi_polygon_keeps_every_cell_whose_centre_is_inside_even_empty():
    aoi = Polygon([(0, 0), (10000, 0), (0, 10000)])
    g = aggregate_to_grid(
        np.array([1000.0, 9000.0]),
        np.array([1000.0, 9000.0]),
        None,
        GridSpec("square", 1000.0),
        aoi,
    )
    assert shapely.intersects_xy(aoi, g.cx, g.cy).all()
    assert len(g) == 55  # centres (i+.5, j+.5) km with i + j + 1 <= 10 (boundary counts)
    assert g.values.sum() == 1 and g.n_points_dropped == 1
    g2 = aggregate_to_grid(
        np.array([1.0]), np.array([1.0]), None, GridSpec("hex", 500.0), box(0, 0, 3000, 3000)
    )
    assert len(g2) > 30 and g2.values.sum() == 1


def test_bad_grid_specs_are_refused():
    with pytest.raises(SpatialError):
        GridSpec("triangle", 10.0)  # type: ignore[arg-type]
    with pytest.raises(SpatialError):
        GridSpec("hex", -1.0)
    with pytest.raises(SpatialError):
        aggregate_to_grid(np.array([]), np.array([]), None, GridSpec("hex", 10.0))
