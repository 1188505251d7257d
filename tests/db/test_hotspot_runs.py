"""Stored hotspot runs end to end on a real PostGIS: seeded incidents → service → stored rows,
checked against the engine and esda on the same points, and against PostGIS's own predicates
for the area-of-interest selection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely

from geomon.analysis import hotspots as service
from geomon.analysis.hotspot_params import HotspotParams, InputFilter
from geomon.errors import NotFound
from geomon.spatial.crs import transform_xy
from geomon.spatial.ehsa import PATTERNS
from geomon.spatial.gistar import gistar
from geomon.spatial.grid import GridSpec, aggregate_to_grid
from geomon.spatial.raster_io import read_geotiff
from geomon.spatial.weights import distance_band
from geomon.store import hotspots as store
from geomon.store.devices import ensure_agency

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")

BBOX = (66.5, 39.0, 68.5, 40.5)  # Samarkand region, touching the TJK border
WIDE = (66.5, 39.0, 69.5, 40.5)  # BBOX plus an empty degree to the east
HUB = (67.0, 39.65)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _insert(conn: psycopg.Connection, agency: int, category: str, lon, lat, when) -> None:
    conn.execute(
        "INSERT INTO incidents (agency_id, category, quantity, occurred_at, geom, source) "
        "SELECT %s, %s, 1.0, t, ST_SetSRID(ST_MakePoint(x, y), 4326), 'hotspot-runs-test' "
        "FROM unnest(%s::float8[], %s::float8[], %s::timestamptz[]) AS u(x, y, t)",
        (agency, category, list(map(float, lon)), list(map(float, lat)), list(when)),
    )


@pytest.fixture(scope="module")
def seeded(db_url: str) -> dict:
    """A hub of incidents near Samarkand over a uniform background (two agencies)."""
    rng = np.random.default_rng(7)
    hub_lon = rng.normal(HUB[0], 0.05, 600)
    hub_lat = rng.normal(HUB[1], 0.04, 600)
    bg_lon = rng.uniform(BBOX[0], BBOX[2], 1400)
    bg_lat = rng.uniform(BBOX[1], BBOX[3], 1400)
    lon, lat = np.r_[hub_lon, bg_lon], np.r_[hub_lat, bg_lat]
    when = [T0 + timedelta(days=int(d)) for d in rng.integers(0, 700, len(lon))]
    with psycopg.connect(db_url) as conn:
        a = ensure_agency(conn, "UZB-HS")
        b = ensure_agency(conn, "TJK-HS")
        _insert(conn, a, "hs-gi", lon, lat, when)
        _insert(
            conn,
            b,
            "hs-gi",
            rng.uniform(*BBOX[::2], 200),
            rng.uniform(*BBOX[1::2], 200),
            [T0] * 200,
        )
    return {"lon": lon, "lat": lat, "agency_a": a, "agency_b": b}


def _run(db_url: str, tmp: Path, **kw) -> service.RunOutcome:
    with psycopg.connect(db_url) as conn:
        out = service.run(conn, HotspotParams(**kw), data_dir=tmp, created_by="pytest")
        conn.commit()
    return out


def test_gistar_run_stores_the_engines_and_esdas_z(db_url, seeded, tmp_path) -> None:
    out = _run(
        db_url,
        tmp_path,
        kind="gistar",
        cell_size=10_000,
        distance_band=25_000,
        fdr=True,
        filter=InputFilter(category="hs-gi", agency="UZB-HS", bbox=WIDE),
    )
    assert out.n_points == len(seeded["lon"])  # the other agency's 200 are filtered out
    with psycopg.connect(db_url) as conn:
        run = store.get_run(conn, out.run_id)
        cells = store.read_cells(conn, out.run_id)
    assert run["status"] == "done" and run["crs"] == out.crs == "EPSG:32642"
    assert run["input_filter"]["until"]  # the open window was closed at run time
    x, y = transform_xy(seeded["lon"], seeded["lat"], "EPSG:4326", out.crs)
    aoi_m = service.to_metric(shapely.box(*WIDE), out.crs)
    grid = aggregate_to_grid(x, y, None, GridSpec("hex", 10_000), aoi=aoi_m)
    order = np.argsort(grid.ids)
    np.testing.assert_array_equal(cells["cell_id"], grid.ids[order])
    np.testing.assert_array_equal(cells["value"], grid.values[order])
    assert (cells["value"] == 0).sum() > 50  # empty cells inside the AOI are analysed
    w = distance_band(grid.cx, grid.cy, 25_000)
    engine = gistar(grid.values, w, fdr=True)
    np.testing.assert_allclose(cells["z"], engine.z[order], atol=1e-9)
    np.testing.assert_array_equal(cells["gi_bin_fdr"], engine.gi_bin_fdr[order])
    lw = libpysal.weights.DistanceBand(
        np.column_stack([grid.cx, grid.cy]), threshold=25_000, binary=True, silence_warnings=True
    )
    ref = esda.G_Local(grid.values, lw, transform="B", star=True, permutations=0).Zs
    np.testing.assert_allclose(cells["z"], ref[order], atol=1e-9)
    hub_x, hub_y = transform_xy(np.array([HUB[0]]), np.array([HUB[1]]), "EPSG:4326", out.crs)
    nearest = np.argmin(np.hypot(grid.cx - hub_x, grid.cy - hub_y))
    assert cells["gi_bin"][np.searchsorted(cells["cell_id"], grid.ids[nearest])] == 3


def _count(conn: psycopg.Connection, where: str, args: tuple) -> int:
    return conn.execute(
        "SELECT count(*) FROM incidents i WHERE i.category = 'hs-gi' AND " + where, args
    ).fetchone()[0]


def test_country_aoi_selects_like_postgis_and_keeps_empty_cells(db_url, seeded, tmp_path):
    out = _run(
        db_url,
        tmp_path,
        kind="gistar",
        cell_size=20_000,
        filter=InputFilter(category="hs-gi", country="TJK"),
    )
    with psycopg.connect(db_url) as conn:
        expected = _count(
            conn, "ST_Intersects(i.geom, (SELECT geom FROM countries WHERE iso_a3 = 'TJK'))", ()
        )
        inside, total, area_km2 = conn.execute(
            "SELECT count(*) FILTER (WHERE ST_Intersects(ST_Centroid(c.geom), k.geom)), "
            "count(*), ST_Area(k.geom::geography) / 1e6 FROM hotspot_cells c, countries k "
            "WHERE c.run_id = %s AND k.iso_a3 = 'TJK' GROUP BY k.geom",
            (out.run_id,),
        ).fetchone()
        empty = conn.execute(
            "SELECT count(*) FROM hotspot_cells WHERE run_id = %s AND value = 0", (out.run_id,)
        ).fetchone()[0]
    assert 0 < expected < len(seeded["lon"])
    assert out.n_points == expected
    hex_km2 = 20.0**2 * np.sqrt(3) / 2
    assert total == pytest.approx(area_km2 / hex_km2, rel=0.05)  # the whole country is gridded
    assert inside >= 0.99 * total
    assert empty > 0.9 * total  # points only in the Samarkand corner; the rest is empty


def test_border_buffer_aoi(db_url, seeded, tmp_path) -> None:
    out = _run(
        db_url,
        tmp_path,
        kind="gistar",
        cell_size=5_000,
        filter=InputFilter(category="hs-gi", border="TJK-UZB", buffer_km=20),
    )
    with psycopg.connect(db_url) as conn:
        expected = _count(
            conn,
            "ST_DWithin(i.geom::geography, (SELECT geom::geography FROM "
            "borders WHERE code = 'TJK-UZB'), 20000)",
            (),
        )
        far = conn.execute(
            "SELECT max(ST_Distance(ST_Centroid(c.geom)::geography, b.geom::geography)) "
            "FROM hotspot_cells c, borders b WHERE c.run_id = %s AND b.code = 'TJK-UZB'",
            (out.run_id,),
        ).fetchone()[0]
    assert expected > 50
    assert abs(out.n_points - expected) <= max(2, 0.01 * expected)  # buffer polygon vs exact
    assert far <= 20_500  # every cell centre lies in the 20 km strip


def test_ehsa_stores_patterns_and_trends(db_url, tmp_path) -> None:
    rng = np.random.default_rng(3)
    lon, lat, when = [], [], []
    for m in range(24):  # the hub grows month by month; the background stays flat
        start = datetime(2023 + m // 12, m % 12 + 1, 1, tzinfo=UTC)
        k = 2 + 3 * m
        lon += [*rng.normal(HUB[0], 0.03, k), *rng.uniform(BBOX[0], BBOX[2], 30)]
        lat += [*rng.normal(HUB[1], 0.03, k), *rng.uniform(BBOX[1], BBOX[3], 30)]
        when += [start + timedelta(days=int(d)) for d in rng.integers(0, 28, k + 30)]
    with psycopg.connect(db_url) as conn:
        _insert(conn, ensure_agency(conn, "UZB-HS"), "hs-ehsa", lon, lat, when)
    out = _run(
        db_url,
        tmp_path,
        kind="ehsa",
        cell_size=15_000,
        distance_band=35_000,
        filter=InputFilter(
            category="hs-ehsa",
            bbox=BBOX,
            since=datetime(2023, 1, 1, tzinfo=UTC),
            until=datetime(2025, 1, 1, tzinfo=UTC),
        ),
    )
    with psycopg.connect(db_url) as conn:
        run = store.get_run(conn, out.run_id)
        hub = conn.execute(
            "SELECT category, trend_z, value FROM hotspot_cells WHERE run_id = %s AND "
            "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (out.run_id, *HUB),
        ).fetchone()
        cats = store.read_cells(conn, out.run_id)["category"]
    assert run["params"]["derived"]["n_steps"] == 24
    assert set(cats) <= set(PATTERNS) and None not in set(cats)
    assert hub[0] in (
        "intensifying hot spot",
        "consecutive hot spot",
        "persistent hot spot",
        "new hot spot",
    ), hub
    assert hub[1] > 2  # Mann-Kendall: rising z
    assert sum(c == "no pattern" for c in cats) > len(cats) / 2


def test_kde_writes_geotiff_and_surface_then_delete_removes_both(db_url, seeded, tmp_path):
    out = _run(
        db_url,
        tmp_path,
        kind="kde",
        kde_cell_size=1000,
        bandwidth=8000,
        filter=InputFilter(category="hs-gi", agency="UZB-HS"),
    )
    path = Path(out.surface_path or "")
    assert path.is_file() and path.parent == (tmp_path / "surfaces").resolve()
    grid = read_geotiff(path)
    mass = float(grid.array.astype(float).sum()) * (grid.cell_size / 1000) ** 2
    assert mass == pytest.approx(out.n_points, rel=0.01)  # per km² × km² = points
    with psycopg.connect(db_url) as conn:
        surf = conn.execute(
            "SELECT kind, crs, units FROM surfaces WHERE path = %s", (str(path),)
        ).fetchone()
        assert surf == ("kde", out.crs, "points per km2")
        service.delete(conn, out.run_id)
        assert (
            conn.execute("SELECT count(*) FROM surfaces WHERE path = %s", (str(path),)).fetchone()[
                0
            ]
            == 0
        )
        with pytest.raises(NotFound):
            store.get_run(conn, out.run_id)
    assert not path.exists()


def test_dbscan_stores_cluster_hulls(db_url, tmp_path) -> None:
    rng = np.random.default_rng(5)
    centres = [(67.2, 39.8), (67.8, 40.2), (68.2, 39.3)]
    lon = np.r_[*[rng.normal(c[0], 0.004, 30) for c in centres], rng.uniform(66.5, 68.5, 40)]
    lat = np.r_[*[rng.normal(c[1], 0.004, 30) for c in centres], rng.uniform(39.0, 40.5, 40)]
    with psycopg.connect(db_url) as conn:
        _insert(conn, ensure_agency(conn, "UZB-HS"), "hs-db", lon, lat, [T0] * len(lon))
    out = _run(
        db_url, tmp_path, kind="dbscan", eps=1500, min_count=8, filter=InputFilter(category="hs-db")
    )
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT value, GeometryType(geom), (SELECT count(*) FROM incidents i WHERE "
            "i.category = 'hs-db' AND ST_DWithin(c.geom::geography, i.geom::geography, 1)) "
            "FROM hotspot_cells c "
            "WHERE run_id = %s ORDER BY cell_id",
            (out.run_id,),
        ).fetchall()
    assert out.n_cells == 3 and [r[1] for r in rows] == ["POLYGON"] * 3
    for value, _, covered in rows:
        assert 30 <= value == covered  # 30 seeded (+ any background point swept in), all
        # inside their hull (within 1 m: hull edges are straight in the metric CRS)


def test_list_show_rerun_delete(db_url, seeded, tmp_path) -> None:
    first = _run(
        db_url,
        tmp_path,
        kind="gistar",
        cell_size=10_000,
        knn=6,
        filter=InputFilter(category="hs-gi", bbox=BBOX),
    )
    with psycopg.connect(db_url) as conn:
        again = service.rerun(conn, first.run_id, data_dir=tmp_path)
        conn.commit()
        assert again.run_id != first.run_id
        a, b = store.read_cells(conn, first.run_id), store.read_cells(conn, again.run_id)
        np.testing.assert_array_equal(a["cell_id"], b["cell_id"])
        np.testing.assert_array_equal(a["z"], b["z"])
        ids = [r["id"] for r in store.list_runs(conn, limit=500)]
        assert ids.index(again.run_id) < ids.index(first.run_id)  # newest first
        p1, _ = service.stored_params(conn, first.run_id)
        p2, _ = service.stored_params(conn, again.run_id)
        assert p1 == p2 and p1.knn == 6
        service.delete(conn, again.run_id)
        assert store.read_cells(conn, again.run_id)["cell_id"].size == 0
        with pytest.raises(NotFound):
            service.delete(conn, again.run_id)
