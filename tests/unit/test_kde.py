"""Kernel density: hand-computed values, integral = number of points, bandwidth rule, COG out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geomon.errors import SpatialError
from geomon.spatial.kde import default_bandwidth, kernel_density
from geomon.spatial.raster_io import read_geotiff, write_geotiff

CRS = "EPSG:32642"


def _value_at(grid, x, y):
    col = int((x - grid.transform.c) // grid.transform.a)
    row = int((grid.transform.f - y) // -grid.transform.e)
    return float(grid.array[row, col])


@pytest.mark.parametrize("method", ["exact", "binned"])
def test_hand_computed_values_around_one_point(method):
    # One point on a cell centre, r = 1 km: K(0) = 3/(π r²) per m² = 3/π per km².
    res = kernel_density(
        np.array([50.0]),
        np.array([50.0]),
        cell_size=100.0,
        crs=CRS,
        bandwidth=1000.0,
        extent=(-2000, -2000, 2000, 2000),
        method=method,
    )
    g = res.grid
    assert _value_at(g, 50, 50) == pytest.approx(3 / math.pi, rel=1e-6)
    # 500 m east: 3/π · (1 - 0.25)² = 0.5371...
    assert _value_at(g, 550, 50) == pytest.approx(3 / math.pi * 0.75**2, rel=1e-6)
    # 300 m east, 400 m north (d = 500 m): same value.
    assert _value_at(g, 350, 450) == pytest.approx(3 / math.pi * 0.75**2, rel=1e-6)
    assert _value_at(g, 1050, 50) == 0.0  # beyond the radius


@pytest.mark.parametrize("method", ["exact", "binned"])
def test_integral_equals_the_number_of_points(method):
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 5000, 400), rng.normal(0, 3000, 400)
    res = kernel_density(x, y, cell_size=100.0, crs=CRS, bandwidth=2000.0, method=method)
    cell_km2 = (100.0 / 1000) ** 2
    assert res.grid.array.sum() * cell_km2 == pytest.approx(400, rel=5e-3)


def test_integral_loses_what_falls_off_the_edge():
    # A point on the raster's left edge: half its kernel is off the raster.
    res = kernel_density(
        np.array([0.0]),
        np.array([0.0]),
        cell_size=50.0,
        crs=CRS,
        bandwidth=2000.0,
        extent=(0, -3000, 3000, 3000),
        method="exact",
    )
    assert res.grid.array.sum() * 0.05**2 == pytest.approx(0.5, rel=1e-2)


def test_exact_and_binned_agree_and_weights_count_points_many_times():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 20000, 300), rng.uniform(0, 20000, 300)
    kw = dict(cell_size=200.0, crs=CRS, bandwidth=4000.0, extent=(0, 0, 20000, 20000))
    exact = kernel_density(x, y, method="exact", **kw).grid.array
    binned = kernel_density(x, y, method="binned", **kw).grid.array
    assert np.abs(exact - binned).max() < 0.03 * exact.max()
    w = np.ones(300)
    w[:10] = 3.0
    weighted = kernel_density(x, y, weights=w, method="exact", **kw).grid.array
    dup = kernel_density(
        np.r_[x, x[:10], x[:10]], np.r_[y, y[:10], y[:10]], method="exact", **kw
    ).grid.array
    np.testing.assert_allclose(weighted, dup, rtol=1e-5)


def test_default_bandwidth_is_arcgis_rule():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 4000, 201), rng.normal(0, 1000, 201)
    # Independent computation of 0.9·min(SD, sqrt(1/ln 2)·Dm)·n^-0.2.
    sd = math.sqrt(np.var(x) + np.var(y))
    dm = float(np.median(np.hypot(x - x.mean(), y - y.mean())))
    expected = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * 201**-0.2
    assert default_bandwidth(x, y) == pytest.approx(expected, rel=1e-12)
    res = kernel_density(x, y, cell_size=500.0, crs=CRS)
    assert res.bandwidth_is_default and res.bandwidth == pytest.approx(expected)
    assert res.grid.tags["bandwidth_rule"] == "arcgis-default"


def test_writes_a_cog_in_the_metric_crs(tmp_path):
    res = kernel_density(
        np.array([0.0, 100.0]), np.array([0.0, 50.0]), cell_size=25.0, crs=CRS, bandwidth=300.0
    )
    path = write_geotiff(tmp_path / "kde.tif", res.grid)
    back = read_geotiff(path)
    assert "32642" in back.crs or "UTM zone 42N" in back.crs
    np.testing.assert_allclose(back.array, res.grid.array)
    assert back.transform == res.grid.transform
    assert back.tags["units"] == "points per km2"


def test_bad_inputs_are_refused():
    with pytest.raises(SpatialError):
        kernel_density(np.array([1.0, 1.0]), np.array([2.0, 2.0]), cell_size=10.0, crs=CRS)
    with pytest.raises(SpatialError):
        kernel_density(np.array([1.0]), np.array([2.0]), cell_size=-1.0, crs=CRS, bandwidth=5.0)
    with pytest.raises(SpatialError):
        kernel_density(np.array([np.nan]), np.array([2.0]), cell_size=1.0, crs=CRS, bandwidth=5.0)


def test_binned_error_stays_within_its_stated_bound():
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 4000, 300), rng.uniform(0, 3000, 300)
    kw = {"cell_size": 100.0, "crs": "EPSG:32642", "bandwidth": 450.0, "extent": (0, 0, 4000, 3000)}
    exact = kernel_density(x, y, method="exact", **kw).grid.array.astype(float)
    res = kernel_density(x, y, method="binned", **kw)
    frac = float(res.grid.tags["binned_error_bound"].split()[0])
    r, delta = 450.0, 100.0 * math.sqrt(2) / 2
    cx = (np.arange(40) + 0.5) * 100.0
    cy = 3000 - (np.arange(30) + 0.5) * 100.0
    d = np.hypot(cx[None, :, None] - x[None, None, :], cy[:, None, None] - y[None, None, :])
    near = (d < r + delta).sum(axis=2)
    bound = frac * 3 / (math.pi * r * r) * 1e6 * near
    diff = np.abs(res.grid.array.astype(float) - exact)
    assert (diff <= bound * (1 + 1e-4) + 1e-3).all()
    assert diff.max() > 0.2 * bound.max() / near.max()  # the bound is not vacuous
