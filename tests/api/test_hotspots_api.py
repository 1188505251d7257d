"""/api/v1/hotspots/runs with real users and tokens, through the geomon_app role (row-level
security always applies): start, poll, cells, OGC items, delete, roles and agency isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.store.devices import ensure_agency
from tests.helpers.auth import make_user

BBOX = [72.0, 40.0, 73.5, 41.0]  # Osh / Andijan
N_A, N_B = 400, 150


def _seed(db_url: str) -> None:
    rng = np.random.default_rng(11)
    with psycopg.connect(db_url) as conn:
        for code, n, lon0 in (("KGZ-HSA", N_A, 72.8), ("UZB-HSA", N_B, 72.3)):
            agency = ensure_agency(conn, code)
            conn.execute(
                "INSERT INTO incidents (agency_id, category, occurred_at, geom) "
                "SELECT %s, 'hs-api', %s, ST_SetSRID(ST_MakePoint(x, y), 4326) "
                "FROM unnest(%s::float8[], %s::float8[]) u(x, y)",
                (
                    agency,
                    datetime(2025, 5, 1, tzinfo=UTC),
                    rng.normal(lon0, 0.05, n).tolist(),
                    rng.normal(40.5, 0.05, n).tolist(),
                ),
            )


@pytest.fixture(scope="module")
def api(db_url: str, app_db_url: str, tmp_path_factory) -> Iterator[tuple[TestClient, Path]]:
    _seed(db_url)
    data = tmp_path_factory.mktemp("hotspot-data")
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url), data_dir=data))
    with TestClient(app) as client:
        yield client, data


def _headers(db_url: str, role: str, agency: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_user(db_url, role=role, agency=agency)[2]}"}


def _gistar(**extra) -> dict:
    return {
        "kind": "gistar",
        "cell_size": 5000,
        "distance_band": 12000,
        "fdr": True,
        "filter": {"category": "hs-api", "bbox": BBOX},
        **extra,
    }


def test_analyst_runs_gistar_on_what_their_agency_sees(api, db_url) -> None:
    client, _ = api
    a = _headers(db_url, "analyst", "KGZ-HSA")
    r = client.post("/api/v1/hotspots/runs", json=_gistar(), headers=a)
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] == "queued" and run["links"]["cells"].endswith("/cells")
    done = client.get(run["links"]["self"], headers=a).json()  # the worker ran after 202
    assert done["status"] == "done", done
    assert done["n_points"] == N_A  # UZB-HSA's incidents are invisible under RLS
    assert done["input_filter"]["until"] and done["created_by"].startswith("analyst-")
    cells = client.get(run["links"]["cells"], headers=a)
    assert cells.headers["content-type"].startswith("application/geo+json")
    feats = cells.json()["features"]
    assert len(feats) == done["n_cells"] > 0
    assert sum(f["properties"]["value"] for f in feats) <= N_A
    assert any(f["properties"]["gi_bin"] == 3 for f in feats)
    assert feats[0]["geometry"]["type"] == "Polygon"
    items = client.get(
        f"/ogc/collections/hotspots-{run['id']}/items", headers=a, params={"limit": 1000}
    )
    assert items.status_code == 200 and len(items.json()["features"]) == done["n_cells"]
    listed = client.get("/api/v1/hotspots/runs", headers=a).json()["runs"]
    assert run["id"] in [x["id"] for x in listed]


def test_other_agency_sees_nothing_and_cannot_delete(api, db_url) -> None:
    client, _ = api
    a = _headers(db_url, "analyst", "KGZ-HSA")
    b = _headers(db_url, "analyst", "UZB-HSA")
    rid = client.post("/api/v1/hotspots/runs", json=_gistar(), headers=a).json()["id"]
    assert client.get(f"/api/v1/hotspots/runs/{rid}", headers=b).status_code == 404
    assert client.get(f"/api/v1/hotspots/runs/{rid}/cells", headers=b).status_code == 404
    assert rid not in [
        x["id"] for x in client.get("/api/v1/hotspots/runs", headers=b).json()["runs"]
    ]
    assert client.delete(f"/api/v1/hotspots/runs/{rid}", headers=b).status_code == 404
    assert client.get(f"/api/v1/hotspots/runs/{rid}", headers=a).json()["status"] == "done"
    own = client.post("/api/v1/hotspots/runs", json=_gistar(), headers=b).json()
    assert client.get(own["links"]["self"], headers=b).json()["n_points"] == N_B


def test_roles_and_validation(api, db_url) -> None:
    client, _ = api
    viewer = _headers(db_url, "viewer", "KGZ-HSA")
    analyst = _headers(db_url, "analyst", "KGZ-HSA")
    assert client.post("/api/v1/hotspots/runs", json=_gistar()).status_code == 401
    assert client.post("/api/v1/hotspots/runs", json=_gistar(), headers=viewer).status_code == 403
    assert client.get("/api/v1/hotspots/runs", headers=viewer).status_code == 200
    bad = [
        _gistar(cell_size=1),
        _gistar(knn=5),  # knn with a distance band
        {**_gistar(), "filter": {"bbox": BBOX, "country": "KGZ"}},
        {**_gistar(), "filter": {"border": "KGZ-UZB"}},
        {"kind": "nope"},
    ]
    for body in bad:
        assert (
            client.post("/api/v1/hotspots/runs", json=body, headers=analyst).status_code == 422
        ), body
    rid = client.post("/api/v1/hotspots/runs", json=_gistar(), headers=analyst).json()["id"]
    assert client.delete(f"/api/v1/hotspots/runs/{rid}", headers=viewer).status_code == 403


def test_failed_run_records_its_error(api, db_url) -> None:
    client, _ = api
    a = _headers(db_url, "analyst", "KGZ-HSA")
    body = {
        "kind": "ehsa",
        "filter": {
            "category": "hs-api",
            "bbox": BBOX,
            "since": "2025-05-01T00:00:00Z",
            "until": "2025-06-01T00:00:00Z",
        },
    }
    run = client.post("/api/v1/hotspots/runs", json=body, headers=a).json()
    done = client.get(run["links"]["self"], headers=a).json()
    assert done["status"] == "failed" and "at least 4 time steps" in done["error"]


def test_kde_run_and_delete_removes_the_geotiff(api, db_url) -> None:
    client, data = api
    a = _headers(db_url, "analyst", "KGZ-HSA")
    body = {
        "kind": "kde",
        "kde_cell_size": 500,
        "bandwidth": 5000,
        "filter": {"category": "hs-api", "bbox": BBOX},
    }
    rid = client.post("/api/v1/hotspots/runs", json=body, headers=a).json()["id"]
    run = client.get(f"/api/v1/hotspots/runs/{rid}", headers=a).json()
    assert run["status"] == "done", run
    path = Path(run["surface_path"])
    assert path.is_file() and path.is_relative_to(data.resolve())
    assert client.delete(f"/api/v1/hotspots/runs/{rid}", headers=a).status_code == 204
    assert client.get(f"/api/v1/hotspots/runs/{rid}", headers=a).status_code == 404
    assert not path.exists()
