"""Route risk: analytic integrals over step and ramp surfaces, thresholds, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString, MultiLineString, Point, shape

from geomon.errors import SpatialError
from geomon.spatial.raster_io import Grid
from geomon.spatial.route_risk import route_risk

CELL = 50.0
T = Affine(CELL, 0, 0.0, 0, -CELL, 1000.0)  # 20 rows × 40 cols: x 0..2000, y 0..1000


def _grid(arr: np.ndarray, nodata: float | None = None) -> Grid:
    return Grid(arr, T, "EPSG:32642", nodata)


def test_constant_surface() -> None:
    line = LineString([(10, 10), (1990, 990)])
    r = route_risk(_grid(np.full((20, 40), 2.5)), line)
    assert r.length_m == pytest.approx(line.length)
    assert r.mean == pytest.approx(2.5) and r.max == pytest.approx(2.5)
    assert r.integrated == pytest.approx(2.5 * line.length)
    assert r.uncovered_m == pytest.approx(0.0)


def test_step_surface_and_segment_above_threshold() -> None:
    arr = np.ones((20, 40))
    arr[:, 30:] = 4.0  # x ≥ 1500
    line = LineString([(100, 510), (1900, 510)])
    r = route_risk(_grid(arr), line, threshold=2.0)
    assert r.integrated == pytest.approx(1.0 * 1400 + 4.0 * 400)
    assert r.mean == pytest.approx((1400 + 1600) / 1800)
    assert r.max == 4.0
    assert len(r.segments) == 1
    seg = r.segments[0]
    geom = shape(seg["geometry"])
    assert geom.length == pytest.approx(400.0)
    assert seg["properties"]["start_m"] == pytest.approx(1400.0)
    assert seg["properties"]["mean"] == pytest.approx(4.0)
    assert geom.coords[0] == pytest.approx((1500.0, 510.0))


def test_ramp_integral_matches_the_analytic_value() -> None:
    cols = np.arange(40)
    arr = np.tile((cols + 0.5) * CELL / 1000.0, (20, 1))  # value = x/1000 at cell centres
    line = LineString([(0, 0.1), (2000, 999.9)])
    r = route_risk(_grid(arr), line, spacing_m=5.0)
    exact = line.length * 1.0  # mean of x/1000 over x ∈ [0, 2000] is 1
    assert r.integrated == pytest.approx(exact, rel=2e-3)


def test_off_raster_and_nodata_are_uncovered() -> None:
    arr = np.ones((20, 40))
    arr[:, :10] = -9999.0
    line = LineString([(-500, 500), (2000, 500)])  # 500 m off, 500 m nodata, 1500 m valid
    r = route_risk(_grid(arr, nodata=-9999.0), line)
    assert r.covered_m == pytest.approx(1500.0)
    assert r.uncovered_m == pytest.approx(1000.0)
    assert r.mean == pytest.approx(1.0)


def test_multiline_segments_do_not_join_across_parts() -> None:
    arr = np.full((20, 40), 3.0)
    ml = MultiLineString([[(100, 100), (600, 100)], [(600, 900), (1100, 900)]])
    r = route_risk(_grid(arr), ml, threshold=1.0)
    assert len(r.segments) == 2
    assert r.integrated == pytest.approx(3.0 * 1000)
    assert r.summary()["n_segments_above"] == 2


def test_wrong_geometry_is_refused() -> None:
    with pytest.raises(SpatialError):
        route_risk(_grid(np.ones((20, 40))), Point(1, 1))
    assert math.isnan(route_risk(_grid(np.ones((20, 40))), LineString([(-9, -9), (-5, -5)])).mean)
