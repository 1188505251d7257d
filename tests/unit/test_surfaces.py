"""Friction surfaces: analytic planes and distances, documented weights, TOML config."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString, Point, box

from geomon.analysis.surface_config import build_from_config, load_config
from geomon.errors import ConfigError, SpatialError
from geomon.spatial.costdist import accumulated_cost
from geomon.spatial.raster_io import Grid
from geomon.spatial.surfaces import (
    NODATA,
    UNITS,
    SurfaceWeights,
    build_surface,
    slope_tangent,
    synthetic_dem,
)

CELL = 100.0
T = Affine(CELL, 0, 600000.0, 0, -CELL, 4200000.0)
CRS = "EPSG:32642"
NO_EXTRAS = {"crossing_weight": 0.0, "patrol_weight": 0.0, "hotspot_weight": 0.0}


def _plane(gx: float = 0.1, gy: float = 0.05, shape: tuple[int, int] = (30, 40)) -> Grid:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x = T.c + (cols + 0.5) * CELL
    y = T.f - (rows + 0.5) * CELL
    return Grid((gx * x + gy * y).astype(np.float64), T, CRS)


def test_slope_of_a_plane_is_its_gradient_norm() -> None:
    tan = slope_tangent(_plane(0.1, 0.05))
    np.testing.assert_allclose(tan, math.hypot(0.1, 0.05), rtol=1e-6)


def test_slope_term_only() -> None:
    w = SurfaceWeights(base=1.0, slope_weight=3.0, **NO_EXTRAS)
    g = build_surface(_plane(0.2, 0.0), w)
    np.testing.assert_allclose(g.array, 1.0 + 3.0 * 0.2, rtol=1e-6)
    assert g.array.dtype == np.float32 and g.nodata == NODATA
    assert g.tags["geomon_units"] == UNITS == "relative cost per metre"
    assert json.loads(g.tags["geomon_weights"])["slope_weight"] == 3.0


def test_crossing_proximity_follows_the_documented_exponential() -> None:
    w = SurfaceWeights(slope_weight=0.0, patrol_weight=0.0, crossing_weight=2.0,
                       crossing_scale_m=500.0)  # fmt: skip
    flat = Grid(np.zeros((30, 40)), T, CRS)
    crossing = Point(T.c + 10.5 * CELL, T.f - 5.5 * CELL)  # centre of cell (5, 10)
    g = build_surface(flat, w, crossings=[crossing])
    rows, cols = np.mgrid[0:30, 0:40]
    d = np.hypot(rows - 5, cols - 10) * CELL
    np.testing.assert_allclose(g.array, 1.0 + 2.0 * np.exp(-d / 500.0), rtol=1e-6)
    assert g.array[5, 10] == pytest.approx(3.0)


def test_negative_weights_attract_and_the_floor_holds() -> None:
    flat = Grid(np.zeros((10, 10)), T, CRS)
    hot = np.zeros((10, 10))
    hot[2, 2] = 4.0
    hot[3, 3] = 2.0
    w = SurfaceWeights(slope_weight=0.0, crossing_weight=0.0, patrol_weight=0.0,
                       hotspot_weight=-2.0, min_cost=0.1)  # fmt: skip
    g = build_surface(flat, w, hotspot=hot)
    assert g.array[2, 2] == pytest.approx(0.1)  # 1 - 2 floored at min_cost
    assert g.array[3, 3] == pytest.approx(0.1)  # 1 - 1 = 0, floored
    assert g.array[0, 9] == pytest.approx(1.0)
    with pytest.raises(SpatialError):
        build_surface(flat, w, hotspot=np.zeros((3, 3)))


def test_roads_lower_friction_and_impassable_blocks_routes() -> None:
    flat = Grid(np.zeros((20, 20)), T, CRS)
    road = LineString([(T.c + 50, T.f - 1050), (T.c + 1950, T.f - 1050)])  # row 10
    lake = box(T.c + 800, T.f - 2000, T.c + 1200, T.f)  # cols 8..11, every row
    w = SurfaceWeights(slope_weight=0.0, road_factor=0.25, **NO_EXTRAS)
    g = build_surface(flat, w, roads=[road], impassable=[lake])
    assert g.array[10, 0] == pytest.approx(0.25) and g.array[9, 0] == pytest.approx(1.0)
    assert (g.array[:, 8:12] == NODATA).all()
    acc = accumulated_cost(g.array, [(0, 0)], sampling=CELL, nodata=g.nodata).accumulated
    assert np.isinf(acc[:, 12:]).all()  # the lake cuts the grid in two
    assert json.loads(g.tags["geomon_layers"]).keys() == {"roads", "impassable"}


def test_patrol_density_raises_cost_where_patrols_are() -> None:
    flat = Grid(np.zeros((20, 20)), T, CRS)
    pts = [Point(T.c + 550, T.f - 550)] * 5
    w = SurfaceWeights(slope_weight=0.0, crossing_weight=0.0, hotspot_weight=0.0,
                       patrol_weight=1.5, patrol_sigma_m=200.0)  # fmt: skip
    g = build_surface(flat, w, patrols=pts)
    assert g.array[5, 5] == pytest.approx(2.5) and g.array[19, 19] == pytest.approx(1.0)


def test_synthetic_dem_is_deterministic() -> None:
    a = synthetic_dem((50, 60), T, CRS, seed=3)
    b = synthetic_dem((50, 60), T, CRS, seed=3)
    c = synthetic_dem((50, 60), T, CRS, seed=4)
    np.testing.assert_array_equal(a.array, b.array)
    assert not np.array_equal(a.array, c.array)
    assert a.array.min() == pytest.approx(400.0) and a.array.max() == pytest.approx(2900.0)


def test_bad_weights_are_refused() -> None:
    with pytest.raises(SpatialError):
        SurfaceWeights(road_factor=2.0)
    with pytest.raises(SpatialError):
        SurfaceWeights(min_cost=0.0)


DATA = Path("/work/shared/data")


def test_config_builds_a_recorded_surface(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        f"""
[grid]
bbox_lonlat = [68.0, 36.9, 69.6, 38.0]
cell_size_m = 1000
[dem]
synthetic_seed = 7
[weights]
crossing_weight = 2.0
border_weight = -0.3
[inputs]
borders = "{DATA / "borders_ne10m.geojson"}"
crossings = "{DATA / "places_central_asia.csv"}"
crossing_kinds = ["road_bcp"]
""",
        encoding="utf-8",
    )
    if not DATA.exists():
        pytest.skip("shared data not present")
    g = build_from_config(load_config(toml))
    assert g.crs == "EPSG:32642"  # UTM 42N covers 68–69.6° E
    assert 120 <= g.array.shape[0] <= 125 and 140 <= g.array.shape[1] <= 146
    inputs = json.loads(g.tags["geomon_inputs"])
    assert "kinds=['road_bcp']" in inputs["crossings"] and inputs["dem"] == "synthetic seed=7"
    layers = json.loads(g.tags["geomon_layers"])
    assert "border" in layers and "crossing" in layers
    assert np.isfinite(g.array).all() and g.array.min() > 0


@pytest.mark.parametrize(
    "body",
    [
        "[dem]\nsynthetic_seed = 1\n",  # synthetic DEM without a grid
        "[dem]\npath='a.tif'\nsynthetic_seed=1\n",
        "[grid]\nbbox_lonlat=[0,0,1,1]\ncell_size_m=100\n[dem]\nsynthetic_seed=1\n"
        "[weights]\nnope=1\n",
        "this is not toml ===",
    ],
)
def test_bad_config_is_a_config_error(tmp_path: Path, body: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(p)
