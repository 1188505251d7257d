"""Surfaces and corridors built through the API as jobs, with real auth and agency isolation."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.seed import DAY, Seed, auth_headers

BBOX = [68.0, 36.95, 69.3, 38.75]


def _wait(client: TestClient, url: str, headers: dict[str, str]) -> dict:
    for _ in range(200):  # the TestClient runs background tasks before it returns; be safe
        body = client.get(url, headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job at {url} did not finish")


@pytest.fixture(scope="module")
def tj(db_url: str) -> dict[str, str]:
    return auth_headers(db_url, role="analyst", agency="TJK-BS")


@pytest.fixture(scope="module")
def built(client: TestClient, tj: dict[str, str]) -> dict:
    r = client.post(
        "/api/v1/surfaces",
        headers=tj,
        json={
            "bbox": BBOX,
            "cell_size_m": 2000,
            "weights": {"crossing_weight": 3.0},
            "dem_seed": 5,
            "name": "api test",
        },
    )
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["status_url"].split("testserver")[-1], tj)
    assert job["status"] == "done", job
    sid = job["result"]["surface_id"]
    r = client.post(
        "/api/v1/corridors",
        headers=tj,
        json={
            "surface_id": sid,
            "from": {"border": "AFG-TJK"},
            "to": {"places": ["Dushanbe-2 dry port"]},
            "alternatives": 3,
            "margin_m": 6000,
        },
    )
    assert r.status_code == 202, r.text
    cjob = _wait(client, f"/api/v1/corridor-jobs/{r.json()['id']}", tj)
    return {"surface_id": sid, "surface_job": job, "corridor_job": cjob}


def test_surface_job_stores_a_surface_with_its_weights(
    client: TestClient, tj: dict, built: dict
) -> None:
    sid = built["surface_id"]
    doc = client.get(f"/api/v1/surfaces/{sid}", headers=tj).json()
    assert doc["kind"] == "cost" and doc["name"] == "api test"
    assert doc["params"]["weights"]["crossing_weight"] == 3.0
    assert doc["params"]["dem"] == {
        "source": "synthetic",
        "seed": 5,
        "relief_m": 2500.0,
        "note": doc["params"]["dem"]["note"],
    }
    assert doc["bounds"]["type"] == "Polygon"
    tj_json = client.get(f"/tiles/surfaces/{sid}.json", headers=tj)
    assert tj_json.status_code == 200 and doc["links"]["tilejson"].endswith(f"/{sid}.json")
    listed = client.get("/api/v1/surfaces", headers=tj).json()["surfaces"]
    assert sid in [s["id"] for s in listed]


def test_corridor_job_returns_three_ranked_corridors(built: dict) -> None:
    job = built["corridor_job"]
    assert job["status"] == "done", job
    feats = job["geojson"]["features"]
    assert [f["properties"]["rank"] for f in feats] == [1, 2, 3]
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in feats)
    assert all(f["properties"]["path"]["type"] == "LineString" for f in feats)
    costs = [f["properties"]["total_cost"] for f in feats]
    assert costs == sorted(costs)
    assert job["links"]["ogc"].endswith(f"/ogc/collections/corridors-{built['surface_id']}/items")


def test_other_agency_sees_none_of_it(client: TestClient, built: dict) -> None:
    """The default client is a KGZ-BS analyst: the TJK-BS surface, jobs and corridors are
    invisible (404), and it cannot build corridors on that surface."""
    sid = built["surface_id"]
    assert client.get(f"/api/v1/surfaces/{sid}").status_code == 404
    assert sid not in [s["id"] for s in client.get("/api/v1/surfaces").json()["surfaces"]]
    assert client.get(f"/api/v1/surface-jobs/{built['surface_job']['id']}").status_code == 404
    assert client.get(f"/api/v1/corridor-jobs/{built['corridor_job']['id']}").status_code == 404
    for cid in built["corridor_job"]["result"]["corridor_ids"]:
        assert client.get(f"/api/v1/corridors/{cid}").status_code == 404
    r = client.post(
        "/api/v1/corridors",
        json={
            "surface_id": sid,
            "from": {"border": "AFG-TJK"},
            "to": {"places": ["Dushanbe-2 dry port"]},
        },
    )
    assert r.status_code == 404


def test_viewers_cannot_start_jobs_and_bad_requests_are_422(
    client: TestClient, db_url: str
) -> None:
    viewer = auth_headers(db_url, role="viewer", agency="TJK-BS")
    r = client.post("/api/v1/surfaces", headers=viewer, json={"bbox": BBOX})
    assert r.status_code == 403
    assert client.post("/api/v1/surfaces", json={"bbox": [60, 30, 75, 45]}).status_code == 422
    r = client.post("/api/v1/surfaces", json={"bbox": [60, 35, 68, 43], "cell_size_m": 250})
    assert r.status_code == 422 and "2,000,000" in r.text  # too many cells for one job
    assert (
        client.post("/api/v1/surfaces", json={"bbox": BBOX, "weights": {"nope": 1}}).status_code
        == 422
    )
    assert client.post("/api/v1/surfaces", json={"bbox": BBOX, "country": "TJK"}).status_code == 422
    r = client.post(
        "/api/v1/corridors",
        json={
            "surface_id": 1,
            "from": {"border": "AFG-TJK", "places": ["x"]},
            "to": {"points": [[68.7, 38.5]]},
        },
    )
    assert r.status_code == 422


def test_route_risk_of_a_device_track(
    client: TestClient, tj: dict, built: dict, seed: Seed
) -> None:
    body = {
        "surface_id": built["surface_id"],
        "device_id": seed.devices["tj-1"],
        "start": (DAY + timedelta(hours=16)).isoformat(),
        "end": (DAY + timedelta(hours=20)).isoformat(),
        "threshold": 1.0,
    }
    r = client.post("/api/v1/route-risk/device", headers=tj, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["n_fixes"] == 24 and out["length_m"] > 0 and out["covered_m"] > 0
    assert out["max"] >= out["mean"] > 0
    # another agency's analyst can neither see the device nor the surface
    assert client.post("/api/v1/route-risk/device", json=body).status_code == 404


def test_jobs_run_under_the_app_role(db_url: str, app_db_url: str, seed: Seed, tmp_path) -> None:
    """With GEOMON_DB__APP_URL (neither owner nor superuser: RLS always applies) a surface and
    its corridors are built, written with the caller's agency and readable back."""
    from api.app import create_app
    from geomon.settings import DbSettings, Settings

    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url), data_dir=tmp_path))
    tj = auth_headers(db_url, role="analyst", agency="TJK-BS")
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/surfaces",
            headers=tj,
            json={"bbox": [68.4, 37.1, 69.0, 38.6], "cell_size_m": 3000},
        )
        job = _wait(c, f"/api/v1/surface-jobs/{r.json()['id']}", tj)
        assert job["status"] == "done", job
        sid = job["result"]["surface_id"]
        r = c.post(
            "/api/v1/corridors",
            headers=tj,
            json={
                "surface_id": sid,
                "from": {"crossings_of": "AFG-TJK"},
                "to": {"points": [[68.78, 38.53]]},
                "alternatives": 2,
                "percentile": 2,
            },
        )
        cjob = _wait(c, f"/api/v1/corridor-jobs/{r.json()['id']}", tj)
        assert cjob["status"] == "done", cjob
        assert len(cjob["geojson"]["features"]) >= 1
        assert c.get(f"/api/v1/surfaces/{sid}", headers=tj).json()["params"]["cell_size_m"] == 3000
    assert list(tmp_path.glob("surfaces/risk-*.tif"))
