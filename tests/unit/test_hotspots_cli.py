"""``geomon hotspots`` file mode, driven through typer's CliRunner; CSV values checked by esda."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from pyproj import Transformer
from typer.testing import CliRunner

from geomon.cli.hotspots import app
from geomon.spatial.raster_io import read_geotiff

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")

runner = CliRunner()
CRS = "EPSG:32642"
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def incidents():
    rng = np.random.default_rng(21)
    x = np.r_[rng.normal(500000, 6000, 500), rng.uniform(460000, 540000, 500)]
    y = np.r_[rng.normal(4500000, 6000, 500), rng.uniform(4460000, 4540000, 500)]
    kg = rng.gamma(2.0, 5.0, len(x))
    return x, y, kg


def _write_csv(path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _read_csv(path):
    with path.open() as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def _esda_z(cx, cy, values, band):
    w = libpysal.weights.DistanceBand(
        np.column_stack([cx, cy]), threshold=band, binary=True, silence_warnings=True
    )
    return esda.G_Local(values, w, transform="B", star=True, permutations=0).Zs


def test_gistar_points_csv_reproduces_esda(tmp_path, incidents):
    x, y, _ = incidents
    src = _write_csv(tmp_path / "pts.csv", ["x", "y"], zip(x, y, strict=True))
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app,
        [
            "gistar",
            "--points",
            str(src),
            "--crs",
            CRS,
            "--grid",
            "hex",
            "--cell-size",
            "4000",
            "--extent",
            "460000,4460000,540000,4540000",
            "--distance-band",
            "11000",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    header, rows = _read_csv(out)
    assert header == ["id", "cx", "cy", "count", "z", "p", "gi_bin", "gi_bin_fdr"]
    cx, cy = (np.array([float(r[k]) for r in rows]) for k in ("cx", "cy"))
    counts = np.array([float(r["count"]) for r in rows])
    assert counts.sum() == len(x) and (counts == 0).any()  # empty cells of the extent kept
    z = np.array([float(r["z"]) for r in rows])
    np.testing.assert_allclose(z, _esda_z(cx, cy, counts, 11000.0), atol=1e-9)
    assert all(r["gi_bin_fdr"] == "" for r in rows)  # not asked for
    assert "distance band 11000.0 m" in res.output


def test_square_grid_lonlat_value_to_geojson_with_fdr_and_permutations(tmp_path, incidents):
    x, y, kg = incidents
    lon, lat = TO_LONLAT.transform(x, y)
    src = _write_csv(tmp_path / "ll.csv", ["lon", "lat", "kg"], zip(lon, lat, kg, strict=True))
    out = tmp_path / "out.geojson"
    res = runner.invoke(
        app,
        [
            "gistar",
            "--points",
            str(src),
            "--value",
            "kg",
            "--crs",
            CRS,
            "--grid",
            "square",
            "--cell-size",
            "5000",
            "--knn",
            "8",
            "--fdr",
            "--permutations",
            "99",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    props = [f["properties"] for f in doc["features"]]
    assert {"id", "cx", "cy", "value", "z", "p", "gi_bin", "gi_bin_fdr", "p_sim"} <= set(props[0])
    assert sum(p["value"] for p in props) == pytest.approx(kg.sum())
    assert all(abs(p["gi_bin_fdr"]) <= abs(p["gi_bin"]) for p in props)
    ring = np.array(doc["features"][0]["geometry"]["coordinates"][0])
    assert 68 < ring[:, 0].mean() < 72 and 39 < ring[:, 1].mean() < 42  # EPSG:4326


def test_gistar_on_polygon_features_with_queen_weights(tmp_path):
    values = [1.0, 2.0, 3.0, 2.0, 9.0, 8.0, 1.0, 7.0, 6.0]
    feats = []
    for k, v in enumerate(values):
        r, c = divmod(k, 3)
        x0, x1, y0, y1 = 69 + c / 10, 69 + (c + 1) / 10, 41 + r / 10, 41 + (r + 1) / 10
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
        feats.append(
            {
                "type": "Feature",
                "id": f"d{k}",
                "properties": {"seized": v},
                "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
            }
        )
    src = tmp_path / "districts.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app,
        [
            "gistar",
            "--features",
            str(src),
            "--value",
            "seized",
            "--weights",
            "queen",
            "--crs",
            CRS,
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    _, rows = _read_csv(out)
    assert [r["id"] for r in rows] == [f"d{k}" for k in range(9)]
    # The centre district neighbours all nine: its z is undefined (empty in the CSV, nan in esda).
    z = np.array([float(r["z"] or "nan") for r in rows])
    ref = esda.G_Local(
        np.array(values),
        libpysal.weights.lat2W(3, 3, rook=False),
        transform="B",
        star=True,
        permutations=0,
    ).Zs
    np.testing.assert_allclose(z, ref, atol=1e-9)


def test_point_features_with_a_value_are_analysed_as_they_are(tmp_path):
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(69, 70, 60), rng.uniform(41, 42, 60)
    vals = rng.gamma(2, 3, 60) + 10 * (lon < 69.3)
    src = tmp_path / "posts.geojson"
    src.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": k,
                        "properties": {"kg": float(v)},
                        "geometry": {"type": "Point", "coordinates": [float(a), float(b)]},
                    }
                    for k, (a, b, v) in enumerate(zip(lon, lat, vals, strict=True))
                ],
            }
        )
    )
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app,
        [
            "gistar",
            "--features",
            str(src),
            "--value",
            "kg",
            "--weights",
            "distance",
            "--distance-band",
            "20000",
            "--crs",
            CRS,
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    _, rows = _read_csv(out)
    cx, cy = (np.array([float(r[k]) for r in rows]) for k in ("cx", "cy"))
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(cx, x, atol=1e-3)
    z = np.array([float(r["z"]) for r in rows])
    np.testing.assert_allclose(z, _esda_z(x, y, vals, 20000.0), atol=1e-9)


def test_kde_writes_a_geotiff_whose_integral_is_the_point_count(tmp_path, incidents):
    x, y, _ = incidents
    src = _write_csv(tmp_path / "pts.csv", ["x", "y"], zip(x, y, strict=True))
    out = tmp_path / "kde.tif"
    res = runner.invoke(
        app,
        [
            "kde",
            "--points",
            str(src),
            "--crs",
            CRS,
            "--cell-size",
            "500",
            "--bandwidth",
            "5000",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    grid = read_geotiff(out)
    assert grid.array.sum() * 0.25 == pytest.approx(len(x), rel=1e-2)
    assert grid.tags["bandwidth_m"] == "5000.000"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--points", "missing.csv", "--cell-size", "1000"], "no such file"),
        (["--points", "{nocoords}", "--cell-size", "1000"], "x,y or lon,lat"),
        (["--points", "{badvalue}", "--value", "kg", "--cell-size", "1000"], "not a number"),
        (["--points", "{nocoords}", "--features", "{nocoords}"], "exactly one"),
        (
            [
                "--points",
                "{badvalue}",
                "--cell-size",
                "1000",
                "--knn",
                "3",
                "--distance-band",
                "10",
            ],
            "exclude",
        ),
        (["--points", "{badvalue}"], "--cell-size"),
        (["--points", "{lines}", "--cell-size", "1000"], "points expected"),
        (["--features", "{lines}", "--value", "v"], "expected Polygon"),
        (["--features", "{pointfeats}", "--value", "v"], "needs polygons"),
        (["--points", "{badvalue}", "--cell-size", "1000", "--extent", "5,5,1,1"], "XMIN<XMAX"),
    ],
)
def test_bad_input_gives_a_message_and_a_non_zero_exit(tmp_path, args, message):
    nocoords = _write_csv(tmp_path / "a.csv", ["east", "north"], [[1, 2]])
    badvalue = _write_csv(tmp_path / "b.csv", ["x", "y", "kg"], [[1, 2, "lots"], [3, 4, 5]])
    lines = tmp_path / "l.geojson"
    lines.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"v": 1},
                        "geometry": {"type": "LineString", "coordinates": [[69, 41], [70, 42]]},
                    }
                ],
            }
        )
    )
    pointfeats = tmp_path / "p.geojson"
    pointfeats.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"v": k},
                        "geometry": {"type": "Point", "coordinates": [69 + k / 10, 41]},
                    }
                    for k in range(4)
                ],
            }
        )
    )
    args = [
        a.format(nocoords=nocoords, badvalue=badvalue, lines=lines, pointfeats=pointfeats)
        for a in args
    ]
    res = runner.invoke(app, ["gistar", *args, "--crs", CRS, "--out", str(tmp_path / "o.csv")])
    assert res.exit_code != 0
    assert res.exception is None or isinstance(res.exception, SystemExit)  # no traceback
    assert message in res.output


def test_a_geographic_crs_is_refused(tmp_path):
    res = runner.invoke(
        app,
        [
            "kde",
            "--points",
            "x.csv",
            "--crs",
            "EPSG:4326",
            "--cell-size",
            "10",
            "--out",
            str(tmp_path / "k.tif"),
        ],
    )
    assert res.exit_code != 0 and "metres" in res.output
