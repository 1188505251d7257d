"""Issue 5 on live data: a region surface from PostGIS, stored; three corridors from the
AFG–TJK border to the hub nearest Dushanbe; route risk of a device's stored track."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
import rasterio
from pyproj import Geod
from typer.testing import CliRunner

from geomon.analysis import corridors as service
from geomon.analysis.region_surface import RegionSurfaceSpec, build_region_surface
from geomon.spatial.surfaces import SurfaceWeights
from geomon.store import surfaces as store
from geomon.store.devices import add_device, ensure_agency

BBOX = (68.0, 36.95, 69.3, 38.75)  # southern Tajikistan: Panj river border up to Dushanbe
CELL = 2000.0
MARGIN = 6000.0
WEIGHTS = {
    "crossing_weight": 2.5,
    "hotspot_weight": -0.4,
    "patrol_weight": 1.5,
    "border_weight": 0.3,
}
N_IN, N_OUT = 12, 4
OWN = "CORR-TEST"
TRACK = [(68.60, 37.40), (68.65, 37.55), (68.75, 37.70), (68.80, 37.90), (68.78, 38.10)]


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Seeded incidents (unique category), a patrol device with a track, a stored surface."""
    tag = uuid.uuid4().hex[:8]
    data_dir = tmp_path_factory.mktemp("data")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    with psycopg.connect(db_url) as conn:
        agency = ensure_agency(conn, OWN)  # our own agency: other tests count TJK/KGZ rows
        cat = f"corr-{tag}"
        pts = [(68.5 + 0.05 * i, 37.5 + 0.03 * i) for i in range(N_IN)]
        pts += [(75.0 + 0.1 * i, 40.0) for i in range(N_OUT)]  # outside the region
        conn.cursor().executemany(
            "INSERT INTO incidents (agency_id, category, occurred_at, geom, source) VALUES "
            "(%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'corridor-test')",
            [(agency, cat, t0, x, y) for x, y in pts],
        )
        dev = add_device(conn, uid=f"patrol-{tag}", kind="tracker", agency=OWN)
        conn.cursor().executemany(
            "INSERT INTO positions (device_id, fix_time, geom, valid) VALUES "
            "(%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), true)",
            [(dev.id, t0 + timedelta(minutes=10 * i), x, y) for i, (x, y) in enumerate(TRACK)],
        )
        spec = RegionSurfaceSpec(
            bbox=BBOX,
            cell_size_m=CELL,
            weights=dict(WEIGHTS),
            incident_category=cat,
            dem_seed=3,
            patrol_since=t0 - timedelta(hours=1),
            patrol_until=t0 + timedelta(hours=2),
        )
        out = build_region_surface(
            conn, spec, data_dir=data_dir, agency_id=agency, created_by="test"
        )
        conn.commit()
    yield {
        "surface": out,
        "data_dir": data_dir,
        "device": f"patrol-{tag}",
        "t0": t0,
        "agency": agency,
        "db_url": db_url,
    }


def test_surface_row_and_file_record_every_input_and_weight(world: dict, conn) -> None:
    out = world["surface"]
    row = store.get_surface(conn, out.surface_id)
    assert row["kind"] == "cost" and row["units"] == "relative cost per metre"
    assert row["agency_id"] == world["agency"] and row["created_by"] == "test"
    p = row["params"]
    assert p["weights"] == asdict(SurfaceWeights(**WEIGHTS))
    assert p["dem"]["source"] == "synthetic" and p["dem"]["seed"] == 3
    assert p["inputs"]["hotspot"]["n_points"] == N_IN  # the 4 outside the bbox are not read
    assert "AFG-TJK" in p["inputs"]["borders"]["codes"]
    assert any("Panji Poyon" in c["name"] for c in p["inputs"]["crossings"]["places"])
    assert p["inputs"]["patrols"]["n_fixes"] == len(TRACK)
    assert p["cell_size_m"] == CELL and p["crs"] == "EPSG:32642"
    assert json.loads(p["layers_used"]).keys() >= {"crossing", "border", "hotspot", "patrols"}
    with rasterio.open(row["path"]) as src:
        assert src.crs.to_epsg() == 32642 and src.res == (CELL, CELL)
        assert tuple(src.shape) == tuple(p["shape"])
        tags = src.tags()
        assert json.loads(tags["geomon_weights"]) == asdict(SurfaceWeights(**WEIGHTS))
        assert tags["geomon_surface_id"] == str(out.surface_id)
        arr = src.read(1)
    assert math.isclose(float(arr[arr != src.nodata].max()), p["vmax"], rel_tol=1e-6)
    # bounds polygon (4326) covers the requested bbox (to ~10 m: its edges are chords)
    covers = conn.execute(
        "SELECT ST_Covers(ST_Buffer(bounds, 1e-4), ST_MakeEnvelope(%s, %s, "
        "%s, %s, 4326)) FROM surfaces WHERE id = %s",
        (*BBOX, out.surface_id),
    ).fetchone()[0]
    assert covers


@pytest.fixture(scope="module")
def three(world: dict) -> list[dict]:
    with psycopg.connect(world["db_url"]) as conn:
        hub = store.nearest_place(conn, 68.78, 38.56)  # Dushanbe
        req = service.CorridorRequest(
            world["surface"].surface_id,
            service.Endpoint(border="AFG-TJK"),
            service.Endpoint(places=[hub["name"]]),
            alternatives=3,
            margin_m=MARGIN,
            within_pct=3.0,
        )
        rows = service.build_corridors(
            conn, req, data_dir=world["data_dir"], agency_id=world["agency"], created_by="test"
        )
        conn.commit()
    return [{**r, "hub": hub} for r in rows]


def test_three_ranked_corridors_stored_in_4326(three: list[dict], conn) -> None:
    assert "Dushanbe" in three[0]["hub"]["name"]
    assert [c["rank"] for c in three] == [1, 2, 3]
    rows = conn.execute(
        "SELECT rank, total_cost, ST_GeometryType(c.geom), ST_IsValid(c.geom), ST_SRID(c.geom), "
        "ST_GeometryType(path), ST_Distance(ST_EndPoint(path)::geography, p.geom::geography), "
        "ST_Distance(ST_StartPoint(path)::geography, b.geom::geography), n_cells "
        "FROM corridors c, places p, borders b WHERE c.id = ANY(%s) AND p.id = %s "
        "AND b.code = 'AFG-TJK' ORDER BY rank",
        ([c["id"] for c in three], three[0]["hub"]["id"]),
    ).fetchall()
    costs = [r[1] for r in rows]
    assert costs == sorted(costs) and costs[0] > 0  # later alternatives are never cheaper
    for _, _, gtype, valid, srid, ptype, d_hub, d_border, n in rows:
        assert (gtype, valid, srid, ptype) == ("ST_MultiPolygon", True, 4326, "ST_LineString")
        assert d_hub < 1.5 * CELL and d_border < 1.5 * CELL and n > 0


def test_alternatives_keep_the_margin_outside_the_endpoints(three: list[dict], conn) -> None:
    """Away from the hub and the border (where every route must converge, the engine's
    endpoint discs of 3 × margin), corridors lie at least margin − a cell's diagonal apart."""
    ids = [c["id"] for c in three]
    radius = 3 * MARGIN + 2 * CELL
    gaps = conn.execute(
        "WITH ends AS (SELECT ST_Union(ST_Buffer(p.geom::geography, %(r)s)::geometry, "
        "  ST_Buffer(b.geom::geography, %(r)s)::geometry) g FROM places p, borders b "
        "  WHERE p.id = %(hub)s AND b.code = 'AFG-TJK'), "
        "c AS (SELECT rank, ST_Difference(geom, ends.g) g FROM corridors, ends "
        "  WHERE id = ANY(%(ids)s)) "
        "SELECT a.rank, b.rank, ST_Distance(a.g::geography, b.g::geography), ST_IsEmpty(a.g), "
        "ST_IsEmpty(b.g) FROM c a JOIN c b ON a.rank < b.rank",
        {"r": radius, "hub": three[0]["hub"]["id"], "ids": ids},
    ).fetchall()
    assert len(gaps) == 3
    for _, _, dist, empty_a, empty_b in gaps:
        assert not (empty_a or empty_b)
        assert dist >= MARGIN - math.sqrt(2) * CELL


def test_route_risk_of_a_device_track(world: dict, conn) -> None:
    row, grid = service.load_surface(conn, world["surface"].surface_id, world["data_dir"])
    t0 = world["t0"]
    r = service.device_route_risk(
        conn,
        grid,
        world["device"],
        t0,
        t0 + timedelta(hours=2),
        threshold=float(np.median(grid.array[grid.array > 0])),
    )
    assert r["n_fixes"] == len(TRACK) and r["uncovered_m"] == pytest.approx(0, abs=1e-6)
    geod = Geod(ellps="WGS84")
    lons, lats = zip(*TRACK, strict=True)
    assert r["length_m"] == pytest.approx(geod.line_length(lons, lats), rel=2e-3)
    # independent mean: rasterio's own sampling at 50 m steps along the geodesic track
    pts = []
    for (x0, y0), (x1, y1) in zip(TRACK, TRACK[1:], strict=False):
        n = int(geod.line_length([x0, x1], [y0, y1]) / 50)
        pts += [(x0, y0)] + geod.npts(x0, y0, x1, y1, n)
    from geomon.spatial.crs import transform_xy

    xs, ys = transform_xy(
        np.array([p[0] for p in pts]), np.array([p[1] for p in pts]), "EPSG:4326", grid.crs
    )
    with rasterio.open(row["path"]) as src:
        vals = np.array([v[0] for v in src.sample(zip(xs, ys, strict=True))])
    assert r["mean"] == pytest.approx(vals.mean(), rel=0.02)
    assert r["max"] == pytest.approx(vals.max(), rel=0.02)  # geodesic vs projected line
    assert r["integrated"] == pytest.approx(r["mean"] * r["covered_m"])
    feats = r["segments"]["features"]
    assert len(feats) == r["n_segments_above"] and all(f["properties"]["mean"] > 0 for f in feats)


def test_cli_route_risk_by_device_and_surfaces_list(world: dict, monkeypatch) -> None:
    from geomon.cli.corridor import route_app, surfaces_app

    monkeypatch.setenv("GEOMON_DB__URL", world["db_url"])
    monkeypatch.setenv("GEOMON_DATA_DIR", str(world["data_dir"]))
    t0 = world["t0"]
    sid = world["surface"].surface_id
    res = CliRunner().invoke(
        route_app,
        [
            "risk",
            "--surface-id",
            str(sid),
            "--device",
            world["device"],
            "--since",
            t0.isoformat(),
            "--until",
            (t0 + timedelta(hours=2)).isoformat(),
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["surface_id"] == sid and out["n_fixes"] == len(TRACK) and out["mean"] > 0
    line = world["data_dir"] / "track.geojson"
    line.write_text(json.dumps({"type": "LineString", "coordinates": TRACK}))
    res = CliRunner().invoke(route_app, ["risk", "--surface-id", str(sid), "--line", str(line)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["mean"] == pytest.approx(out["mean"], rel=1e-9)
    res = CliRunner().invoke(surfaces_app, ["list"])
    assert res.exit_code == 0 and f"{sid:>5} cost" in res.output


def test_delete_surface_removes_row_corridors_and_file(world: dict, tmp_path: Path) -> None:
    with psycopg.connect(world["db_url"]) as conn:
        spec = RegionSurfaceSpec(bbox=(68.5, 37.2, 68.9, 37.6), cell_size_m=4000)
        out = build_region_surface(conn, spec, data_dir=tmp_path)
        req = service.CorridorRequest(
            out.surface_id,
            service.Endpoint(points=[(68.55, 37.25)]),
            service.Endpoint(points=[(68.85, 37.55)]),
            alternatives=1,
            percentile=5,
        )
        service.build_corridors(conn, req, data_dir=tmp_path)
        path, n = store.delete_surface(conn, out.surface_id)
        conn.commit()
        assert path == out.path and n == 1
        with pytest.raises(Exception, match="no surface"):
            store.get_surface(conn, out.surface_id)


def test_file_mode_build_and_corridors_stored(world: dict, tmp_path: Path, monkeypatch) -> None:
    """``surfaces build --config --store`` records the file; ``corridor build --store
    --surface-id`` saves its corridors against it."""
    from geomon.cli.corridor import corridor_app, surfaces_app

    monkeypatch.setenv("GEOMON_DB__URL", world["db_url"])
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        "[grid]\nbbox_lonlat = [68.5, 37.2, 68.9, 37.6]\ncell_size_m = 2000\n"
        "[dem]\nsynthetic_seed = 1\n[weights]\nslope_weight = 2.0\n"
    )
    tif = tmp_path / "s.tif"
    unowned = CliRunner().invoke(
        surfaces_app, ["build", "--config", str(cfg), "--out", str(tif), "--store"]
    )
    assert unowned.exit_code != 0 and "--owner CODE is required" in unowned.output
    assert not tif.exists()  # refused before the build
    region = CliRunner().invoke(
        surfaces_app, ["build-region", "--bbox", "68.5,37.2,68.9,37.6", "--cell-size", "2000"]
    )
    assert region.exit_code != 0 and "--owner CODE is required" in region.output
    res = CliRunner().invoke(
        surfaces_app, ["build", "--config", str(cfg), "--out", str(tif), "--store", "--owner", OWN]
    )
    assert res.exit_code == 0, res.output
    sid = json.loads(res.output)["surface_id"]
    res = CliRunner().invoke(
        corridor_app,
        [
            "build",
            "--cost",
            str(tif),
            "--lonlat",
            "--from",
            "68.55,37.25",
            "--to",
            "68.85,37.55",
            "--within-pct",
            "5",
            "--alternatives",
            "2",
            "--margin",
            "4000",
            "--out",
            str(tmp_path / "c.geojson"),
            "--store",
            "--surface-id",
            str(sid),
        ],
    )
    assert res.exit_code == 0, res.output
    ids = json.loads(res.output)["stored_ids"]
    with psycopg.connect(world["db_url"]) as conn:
        row = store.get_surface(conn, sid)
        rows = store.corridors_of(conn, ids=ids)
    assert row["path"] == str(tif.resolve())
    assert "slope_weight = 2.0" in row["params"]["config_text"]
    assert row["agency_id"] == world["agency"]
    assert [r["rank"] for r in rows] == [1, 2] and all(
        r["agency_id"] == world["agency"] for r in rows
    )
    assert json.loads(rows[0]["geom"])["type"] == "MultiPolygon"


def test_pairs_from_a_borders_crossings_to_two_hubs(world: dict, monkeypatch) -> None:
    """Every official crossing of AFG-TJK × each hub: one stored corridor per pair, ending at
    its own hub."""
    from geomon.cli.corridor import corridor_app

    monkeypatch.setenv("GEOMON_DB__URL", world["db_url"])
    monkeypatch.setenv("GEOMON_DATA_DIR", str(world["data_dir"]))
    sid = world["surface"].surface_id
    hubs = ["Dushanbe-2 dry port", "Nizhny Pyanj dry port"]  # the second sits on the BCP
    res = CliRunner().invoke(
        corridor_app,
        [
            "between",
            "--surface-id",
            str(sid),
            "--from-crossings",
            "AFG-TJK",
            "--to-place",
            hubs[0],
            "--to-place",
            hubs[1],
            "--pairs",
            "--percentile",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["corridors"]
    with psycopg.connect(world["db_url"]) as conn:
        bcps = store.border_crossings(conn, "AFG-TJK")
        stored = store.corridors_of(conn, ids=[r["id"] for r in rows])
        assert len(bcps) >= 1 and len(stored) == len(bcps) * len(hubs)
        for r in stored:
            hub = store.place(conn, r["params"]["to"]["place"])
            end = json.loads(r["path"])["coordinates"][-1]
            d = Geod(ellps="WGS84").inv(end[0], end[1], hub["lon"], hub["lat"])[2]
            assert r["params"]["from"]["place"] in [b["name"] for b in bcps]
            assert d < CELL * 1.5 and r["rank"] == 1
