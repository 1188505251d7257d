"""REST /api/v1: devices, positions and tracks, incidents (create, import, update), zones CRUD,
stored analysis results and route risk — on the seeded PostGIS, with roles and agencies."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import psycopg
import pytest
from affine import Affine
from fastapi.testclient import TestClient
from pyproj import Transformer

from geomon.spatial.raster_io import Grid, write_geotiff
from tests.api.seed import Seed, auth_headers

W = {"start": "2026-11-20T00:00:00Z", "end": "2026-11-22T00:00:00Z"}


@pytest.fixture(scope="module")
def viewer(db_url: str) -> dict[str, str]:
    return auth_headers(db_url, role="viewer", agency="KGZ-BS")


def test_devices_list_and_get(client: TestClient, seed: Seed) -> None:
    body = client.get("/api/v1/devices").json()
    assert {f["properties"]["uid"] for f in body["features"]} == {"kg-1", "kg-2"}
    one = client.get(f"/api/v1/devices/{seed.devices['kg-1']}").json()
    assert one["properties"]["agency"] == "KGZ-BS"
    assert client.get(f"/api/v1/devices/{seed.devices['tj-1']}").status_code == 404


def test_positions_window_bbox_and_limits(client: TestClient, seed: Seed) -> None:
    url = f"/api/v1/devices/{seed.devices['kg-1']}/positions"
    assert len(client.get(url, params=W).json()["features"]) == 96
    day1 = {**W, "end": "2026-11-21T00:00:00Z"}
    assert len(client.get(url, params=day1).json()["features"]) == 48
    # fix g at (74.5 + 0.01 g, 42.8 + 0.005 g): g in 0..10 inside this box
    boxed = client.get(url, params={**W, "bbox": "74.49,42.79,74.605,42.86"}).json()
    assert len(boxed["features"]) == 11
    assert client.get(url, params={**W, "limit": 5}).json()["complete"] is False
    bad = client.get(url, params={"start": "2026-01-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"})
    assert bad.status_code == 422 and "31 days" in bad.json()["detail"]
    assert client.get(url, params={"bbox": "1,2,3"}).status_code == 422


def test_track_simplification_in_metres(client: TestClient, seed: Seed) -> None:
    url = f"/api/v1/devices/{seed.devices['kg-1']}/track"
    full = client.get(url, params=W).json()
    assert full["geometry"]["type"] == "LineString"
    assert len(full["geometry"]["coordinates"]) == full["properties"]["n_fixes"] == 96
    simple = client.get(url, params={**W, "simplify_m": 500}).json()
    coords = simple["geometry"]["coordinates"]  # collinear in lon/lat; UTM bends them < 500 m
    assert len(coords) == 2 and simple["properties"]["simplified_in"] == "EPSG:32643"
    assert coords[0] == pytest.approx([74.5, 42.8]) and coords[-1] == pytest.approx(
        [74.5 + 0.95, 42.8 + 0.475]
    )


def test_incident_create_update_and_roles(client: TestClient, viewer: dict) -> None:
    body = {
        "category": "seizure",
        "occurred_at": "2026-11-28T10:00:00Z",
        "lon": 71.5,
        "lat": 40.1,
        "quantity": 12.5,
        "unit": "kg",
    }
    assert client.post("/api/v1/incidents", json=body, headers=viewer).status_code == 403
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201
    fid = r.json()["id"]
    assert r.json()["properties"]["agency"] == "KGZ-BS"
    r = client.patch(f"/api/v1/incidents/{fid}", json={"quantity": 13, "lon": 71.6, "lat": 40.2})
    assert r.json()["properties"]["quantity"] == 13
    assert r.json()["geometry"]["coordinates"] == [71.6, 40.2]
    assert client.patch(f"/api/v1/incidents/{fid}", json={"lon": 1}).status_code == 422
    bad = client.post("/api/v1/incidents", json={**body, "occurred_at": "2026-11-28T10:00:00"})
    assert bad.status_code == 422


def test_incident_with_an_offset_postgres_cannot_parse(client: TestClient) -> None:
    """RFC 3339 allows -20:27; PostgreSQL only ±15:59: the instant is stored (sent in UTC)."""
    body = {"category": "fk", "lon": 71.5, "lat": 40.1, "occurred_at": "0239-07-28T22:02:36-20:27"}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["occurred_at"].startswith("0239-07-29T18:29:36")
    early = {**body, "occurred_at": "0001-01-01T00:00:00+05:00"}
    edge = client.post("/api/v1/incidents", json=early)
    assert edge.status_code == 422, edge.text
    assert "UTC" in edge.text


def test_incident_import_csv_and_geojson(client: TestClient, conn: psycopg.Connection) -> None:
    csv = (
        "category,occurred_at,lon,lat,quantity,unit,officer\n"
        "seizure,2026-11-01T08:00:00Z,70.1,40.1,3,kg,A\n"
        "detention,2026-11-02T09:30:00+05:00,70.2,40.2,,,B\n"
    )
    r = client.post("/api/v1/incidents/import", content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201 and r.json()["imported"] == 2
    rows = conn.execute(
        "SELECT category, quantity, attrs->>'officer', occurred_at "
        "FROM incidents WHERE id = ANY(%s) ORDER BY id",
        (r.json()["ids"],),
    ).fetchall()
    assert [(c, q, o) for c, q, o, _ in rows] == [("seizure", 3.0, "A"), ("detention", None, "B")]
    assert rows[1][3].isoformat() == "2026-11-02T04:30:00+00:00"
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [70.3, 40.3]},
                "properties": {"category": "detection", "occurred_at": "2026-11-03T00:00:00Z"},
            }
        ],
    }
    r = client.post("/api/v1/incidents/import", json=gj)
    assert r.status_code == 201 and r.json()["imported"] == 1
    broken = csv + "seizure,yesterday,70,40,1,kg,C\n"
    r = client.post(
        "/api/v1/incidents/import", content=broken, headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 422 and "line 4" in r.json()["detail"]


def test_zone_crud(client: TestClient, db_url: str, viewer: dict) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [[[74, 41], [74.2, 41], [74.2, 41.2], [74, 41.2], [74, 41]]],
    }
    r = client.post(
        "/api/v1/zones", json={"name": "test patrol", "kind": "patrol_area", "geometry": square}
    )
    assert r.status_code == 201
    zid = r.json()["id"]
    assert r.json()["geometry"]["type"] == "MultiPolygon"
    dup = client.post(
        "/api/v1/zones", json={"name": "test patrol", "kind": "patrol_area", "geometry": square}
    )
    assert dup.status_code == 409 and "already has a zone" in dup.json()["detail"]
    r = client.patch(f"/api/v1/zones/{zid}", json={"active": False, "name": "renamed"})
    assert r.json()["properties"]["active"] is False and r.json()["properties"]["name"] == "renamed"
    assert client.delete(f"/api/v1/zones/{zid}", headers=viewer).status_code == 403
    tj = auth_headers(db_url, role="analyst", agency="TJK-BS")
    assert client.delete(f"/api/v1/zones/{zid}", headers=tj).status_code == 404
    assert client.delete(f"/api/v1/zones/{zid}").status_code == 204
    assert client.get(f"/api/v1/zones/{zid}").status_code == 404
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    assert (
        client.post(
            "/api/v1/zones", json={"name": "x", "kind": "restricted", "geometry": line}
        ).status_code
        == 422
    )


def test_hotspot_and_corridor_results(client: TestClient, seed: Seed, db_url: str) -> None:
    runs = client.get("/api/v1/hotspots").json()["runs"]
    assert [r["id"] for r in runs] == [seed.hotspot_run]
    cells = client.get(f"/api/v1/hotspots/{seed.hotspot_run}/cells")
    assert cells.headers["content-type"] == "application/geo+json"
    assert len(cells.json()["features"]) == 12
    corr = client.get("/api/v1/corridors").json()["features"]
    assert corr[0]["properties"]["surface_id"] == seed.surface_id
    tj = auth_headers(db_url, role="viewer", agency="TJK-BS")
    assert client.get(f"/api/v1/hotspots/{seed.hotspot_run}", headers=tj).status_code == 404


def test_route_risk_against_hand_values(
    client: TestClient, db_url: str, seed: Seed, tmp_path: Path
) -> None:
    # 10 km x 10 km of 100 m cells in UTM 43N: value 1 west of x=505 km, 3 east of it
    arr = np.where(np.arange(100)[None, :] < 50, 1.0, 3.0).repeat(100, axis=0).astype("float32")
    path = write_geotiff(
        tmp_path / "risk.tif", Grid(arr, Affine(100, 0, 500_000, 0, -100, 4_710_000), "EPSG:32643")
    )
    with psycopg.connect(db_url) as conn:
        sid = conn.execute(
            "INSERT INTO surfaces (kind, path, crs, params, agency_id) VALUES "
            "('risk', %s, 'EPSG:32643', '{}', %s) RETURNING id",
            (str(path), seed.agency_a),
        ).fetchone()[0]
    to_ll = Transformer.from_crs("EPSG:32643", "EPSG:4326", always_xy=True)
    a, b = to_ll.transform(502_000, 4_705_050), to_ll.transform(508_000, 4_705_050)
    r = client.post(
        "/api/v1/route-risk",
        json={
            "surface_id": sid,
            "threshold": 2,
            "route": {"type": "LineString", "coordinates": [a, b]},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # 3 km at 1 + 3 km at 3 → mean 2, max 3; one stretch above 2, 3 km long
    assert body["length_m"] == pytest.approx(6000, rel=1e-3)
    assert body["mean"] == pytest.approx(2.0, rel=1e-2) and body["max"] == 3.0
    seg = body["segments"]["features"]
    assert len(seg) == 1 and seg[0]["properties"]["length_m"] == pytest.approx(3000, rel=2e-2)
    assert math.isclose(seg[0]["geometry"]["coordinates"][-1][0], b[0], rel_tol=1e-6)
    bad = client.post(
        "/api/v1/route-risk",
        json={"surface_id": sid, "route": {"type": "LineString", "coordinates": [[1, 2]]}},
    )
    assert bad.status_code == 422
