"""File-mode CLI of corridors, surfaces and route risk (typer CliRunner, real GeoTIFFs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from shapely.geometry import shape
from typer.testing import CliRunner

from geomon.cli.corridor import corridor_app, route_app, surfaces_app
from geomon.spatial.corridors import least_cost_path
from geomon.spatial.costdist import accumulated_cost
from geomon.spatial.raster_io import Grid, read_geotiff, write_geotiff

CELL = 100.0
X0, Y0 = 600000.0, 4200000.0
T = Affine(CELL, 0, X0, 0, -CELL, Y0)
CRS = "EPSG:32642"
runner = CliRunner()


def _xy(row: int, col: int) -> str:
    return f"{X0 + (col + 0.5) * CELL},{Y0 - (row + 0.5) * CELL}"


@pytest.fixture()
def cost_tif(tmp_path: Path) -> tuple[Path, np.ndarray]:
    cost = np.random.default_rng(11).uniform(0.5, 2.0, (40, 50)).astype(np.float32)
    cost[10:30, 25] = -9999.0  # a wall with gaps above and below
    path = write_geotiff(tmp_path / "cost.tif", Grid(cost, T, CRS, -9999.0))
    return path, cost


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_accumulate_writes_the_surface(cost_tif: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, cost = cost_tif
    out = tmp_path / "acc.tif"
    res = runner.invoke(corridor_app, ["accumulate", "--cost", str(path), "--from", _xy(5, 5),
                                       "--from", _xy(35, 45), "--out", str(out)])  # fmt: skip
    data = _json(res)
    assert data["n_sources"] == 2
    acc = read_geotiff(out)
    ref = accumulated_cost(cost, [(5, 5), (35, 45)], sampling=CELL, nodata=-9999.0).accumulated
    fin = np.isfinite(ref)
    np.testing.assert_allclose(acc.array[fin], ref[fin], rtol=1e-12)
    assert (acc.array[~fin] == -1.0).all() and acc.nodata == -1.0


def test_path_prints_summary_and_writes_lonlat_geojson(
    cost_tif: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, cost = cost_tif
    out = tmp_path / "p.geojson"
    res = runner.invoke(corridor_app, ["path", "--cost", str(path), "--from", _xy(20, 5),
                                       "--to", _xy(20, 45), "--out", str(out)])  # fmt: skip
    data = _json(res)
    ref = least_cost_path(cost, [(20, 5)], (20, 45), sampling=CELL, nodata=-9999.0)
    assert data["total_cost"] == pytest.approx(ref.total_cost, rel=1e-12)
    assert data["n_cells"] == ref.n_cells and data["length_m"] == pytest.approx(ref.length_m)
    feat = json.loads(out.read_text())["features"][0]
    lon, lat = shape(feat["geometry"]).coords[0]
    back = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(lon, lat)
    assert back == pytest.approx((X0 + 5.5 * CELL, Y0 - 20.5 * CELL), abs=1e-3)


def test_path_with_lonlat_coordinates(cost_tif: tuple[Path, np.ndarray]) -> None:
    path, cost = cost_tif
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    a = "{},{}".format(*to_ll.transform(X0 + 2.5 * CELL, Y0 - 3.5 * CELL))  # cell (3, 2)
    b = "{},{}".format(*to_ll.transform(X0 + 40.5 * CELL, Y0 - 33.5 * CELL))  # cell (33, 40)
    res = runner.invoke(corridor_app, ["path", "--cost", str(path), "--lonlat",
                                       "--from", a, "--to", b])  # fmt: skip
    ref = least_cost_path(cost, [(3, 2)], (33, 40), sampling=CELL, nodata=-9999.0)
    assert _json(res)["total_cost"] == pytest.approx(ref.total_cost, rel=1e-12)


def test_build_alternatives_to_geojson(cost_tif: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = cost_tif
    out = tmp_path / "c.geojson"
    res = runner.invoke(corridor_app, ["build", "--cost", str(path), "--from", _xy(20, 3),
                                       "--to", _xy(20, 46), "--percentile", "2",
                                       "--alternatives", "2", "--margin", "300",
                                       "--out", str(out)])  # fmt: skip
    data = _json(res)
    assert [c["rank"] for c in data["corridors"]] == [1, 2]
    assert all(c["n_cells"] > 0 and c["threshold"] > 0 for c in data["corridors"])
    feats = json.loads(out.read_text())["features"]
    assert len(feats) == 2 and feats[0]["properties"]["n_cells"] == data["corridors"][0]["n_cells"]


def test_build_pairs_to_tif(cost_tif: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = cost_tif
    out = tmp_path / "c.tif"
    res = runner.invoke(corridor_app, ["build", "--cost", str(path), "--pairs",
                                       "--from", _xy(2, 2), "--from", _xy(38, 2),
                                       "--to", _xy(20, 47), "--within-pct", "5",
                                       "--out", str(out)])  # fmt: skip
    data = _json(res)
    assert len(data["corridors"]) == 2
    ranks = read_geotiff(out).array
    assert set(np.unique(ranks)) <= {0, 1, 2} and (ranks == 1).sum() > 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["path", "--cost", "missing.tif", "--from", "1,2", "--to", "3,4"], "no such raster"),
        (["path", "--cost", "{cost}", "--from", "1,2", "--to", "3,4"], "outside the raster"),
        (["path", "--cost", "{cost}", "--from", "oops", "--to", "3,4"], "not X,Y"),
        (["build", "--cost", "{cost}", "--from", "{a}", "--to", "{b}", "--out", "x.tif"],
         "exactly one of"),
        (["build", "--cost", "{cost}", "--from", "{a}", "--to", "{b}", "--percentile", "5",
          "--out", "x.png"], "--out must end"),
        (["path", "--cost", "{cost}", "--from", "{a}", "--to", "{wall}"], "unreachable"),
    ],
)  # fmt: skip
def test_bad_input_gives_a_message_not_a_traceback(
    cost_tif: tuple[Path, np.ndarray], args: list[str], needle: str
) -> None:
    path, _ = cost_tif
    fill = {"cost": str(path), "a": _xy(1, 1), "b": _xy(30, 40), "wall": _xy(15, 25)}
    res = runner.invoke(corridor_app, [a.format(**fill) for a in args])
    assert res.exit_code != 0
    assert needle in res.output and "Traceback" not in res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


def test_surfaces_build_and_route_risk(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text("[grid]\nbbox_lonlat = [69.0, 37.5, 69.3, 37.7]\ncell_size_m = 250\n"
                    "[dem]\nsynthetic_seed = 3\n[weights]\nslope_weight = 2.0\n")  # fmt: skip
    surf = tmp_path / "surf.tif"
    data = _json(runner.invoke(surfaces_app, ["build", "--config", str(toml), "--out", str(surf)]))
    assert data["crs"] == "EPSG:32642" and data["min"] >= 1.0
    grid = read_geotiff(surf)
    assert grid.tags["geomon_units"] == "relative cost per metre"
    line = tmp_path / "route.geojson"
    line.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "LineString", "coordinates": [[69.05, 37.55], [69.25, 37.65]]}}))  # fmt: skip
    seg = tmp_path / "seg.geojson"
    args = ["risk", "--surface", str(surf), "--line", str(line), "--out", str(seg)]
    res = runner.invoke(route_app, [*args, "--threshold", str(data["min"])])
    risk = _json(res)
    assert 20000 < risk["length_m"] < 22000  # ≈ 20.9 km geodesic
    assert data["min"] <= risk["mean"] <= risk["max"] <= data["max"]
    assert risk["integrated"] == pytest.approx(risk["mean"] * risk["covered_m"])
    assert len(json.loads(seg.read_text())["features"]) == risk["n_segments_above"] >= 1


def test_route_risk_by_device_needs_a_window(tmp_path: Path) -> None:
    res = runner.invoke(route_app, ["risk", "--surface", "x.tif", "--device", "7"])
    assert res.exit_code == 1 and "--since and --until" in res.output


def test_route_risk_needs_one_surface_and_one_route() -> None:
    res = runner.invoke(route_app, ["risk", "--line", "x.geojson"])
    assert res.exit_code == 1 and "--surface-id" in res.output
    res = runner.invoke(route_app, ["risk", "--surface", "x.tif"])
    assert res.exit_code == 1 and "--device" in res.output


def test_every_command_has_help() -> None:
    apps = ((corridor_app, "accumulate"), (corridor_app, "path"), (corridor_app, "build"),
            (surfaces_app, "build"), (route_app, "risk"))  # fmt: skip
    for app, cmd in apps:
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output


def test_build_from_a_line_source(cost_tif: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, cost = cost_tif
    line = tmp_path / "border.geojson"
    coords = [[X0 + 0.5 * CELL, Y0 - 2.5 * CELL], [X0 + 0.5 * CELL, Y0 - 37.5 * CELL]]  # col 0
    line.write_text(json.dumps({"type": "LineString", "coordinates": coords}))
    res = runner.invoke(corridor_app, ["path", "--cost", str(path), "--from-line", str(line),
                                       "--line-crs", "raster", "--to", _xy(20, 45)])  # fmt: skip
    ref = least_cost_path(cost, [(r, 0) for r in range(2, 38)], (20, 45), sampling=CELL,
                          nodata=-9999.0)  # fmt: skip
    assert _json(res)["total_cost"] == pytest.approx(ref.total_cost, rel=1e-12)
    out = tmp_path / "c.tif"
    res = runner.invoke(corridor_app, ["build", "--cost", str(path), "--from-line", str(line),
                                       "--line-crs", "raster", "--to", _xy(20, 45),
                                       "--within-pct", "1", "--out", str(out)])  # fmt: skip
    data = _json(res)
    assert data["corridors"][0]["min_cost"] == pytest.approx(ref.total_cost, rel=1e-9)
