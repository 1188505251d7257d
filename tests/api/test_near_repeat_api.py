"""/api/v1/near-repeat/runs with real users and tokens, through the geomon_app role (row-level
security always applies): start, poll, Knox table, chains GeoJSON, bad bands, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.store.devices import ensure_agency
from tests.helpers.auth import make_user

CAT = "nr-api"
T0 = datetime(2025, 3, 1, tzinfo=UTC)
N_A, N_B = 60, 25


def _seed(db_url: str) -> None:
    rng = np.random.default_rng(2)
    with psycopg.connect(db_url) as conn:
        for code, n in (("KGZ-NRA", N_A), ("UZB-NRA", N_B)):
            agency = ensure_agency(conn, code)
            # bursts of 5 within ~100 m and a day, 1 km apart
            x = 72.8 + np.repeat(np.arange(n // 5) * 0.02, 5) + rng.normal(0, 0.0005, n)
            y = 40.5 + rng.normal(0, 0.0005, n)
            t = [T0 + timedelta(days=float(10 * (i // 5) + rng.uniform(0, 1))) for i in range(n)]
            conn.execute(
                "INSERT INTO incidents (agency_id, category, occurred_at, geom) "
                "SELECT %s, %s, t, ST_SetSRID(ST_MakePoint(x, y), 4326) "
                "FROM unnest(%s::float8[], %s::float8[], %s::timestamptz[]) u(x, y, t)",
                (agency, CAT, x.tolist(), y.tolist(), t),
            )


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str, tmp_path_factory) -> Iterator[TestClient]:
    _seed(db_url)
    data = tmp_path_factory.mktemp("nr-data")
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url), data_dir=data))
    with TestClient(app) as c:
        yield c


def _headers(db_url: str, role: str, agency: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_user(db_url, role=role, agency=agency)[2]}"}


BODY = {
    "category": CAT,
    "since": "2025-01-01T00:00:00Z",
    "until": "2026-01-01T00:00:00Z",
    "space_edges_m": [0, 500, 2000],
    "time_edges_days": [2, 14],
    "permutations": 49,
    "seed": 3,
}


def test_analyst_runs_near_repeat_on_what_their_agency_sees(client, db_url) -> None:
    a = _headers(db_url, "analyst", "KGZ-NRA")
    r = client.post("/api/v1/near-repeat/runs", json=BODY, headers=a)
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] == "queued" and run["params"]["chain_space_m"] == 500
    done = client.get(run["links"]["self"], headers=a).json()
    assert done["status"] == "done", done
    assert done["n_incidents"] == N_A  # UZB-NRA's are invisible under RLS
    knox = client.get(run["links"]["knox"], headers=a).json()["cells"]
    assert [(c["space_band"], c["time_band"]) for c in knox] == [
        (s, t) for s in range(3) for t in range(2)
    ]
    near = knox[2]  # (0, 500] m x [0, 2] days: the bursts
    assert near["observed"] == (N_A // 5) * 10 and near["ratio"] > 3
    assert near["p_value"] == pytest.approx(1 / 50)
    chains = client.get(run["links"]["chains"], headers=a)
    assert chains.headers["content-type"].startswith("application/geo+json")
    feats = chains.json()["features"]
    assert len(feats) == N_A // 5 == done["n_chains"]
    assert {f["properties"]["n_incidents"] for f in feats} == {5}
    assert feats[0]["geometry"]["type"] == "MultiLineString"
    listed = client.get("/api/v1/near-repeat/runs", headers=a).json()["runs"]
    assert run["id"] in [x["id"] for x in listed]

    b = _headers(db_url, "analyst", "UZB-NRA")
    for url in (run["links"]["self"], run["links"]["knox"], run["links"]["chains"]):
        assert client.get(url, headers=b).status_code == 404
    assert run["id"] not in [
        x["id"] for x in client.get("/api/v1/near-repeat/runs", headers=b).json()["runs"]
    ]
    assert client.delete(run["links"]["self"], headers=b).status_code == 404
    assert client.delete(run["links"]["self"], headers=a).status_code == 204
    assert client.get(run["links"]["self"], headers=a).status_code == 404


def test_bad_bands_are_a_422_that_says_why(client, db_url) -> None:
    a = _headers(db_url, "analyst", "KGZ-NRA")
    r = client.post(
        "/api/v1/near-repeat/runs", json={**BODY, "space_edges_m": [500, 100]}, headers=a
    )
    assert r.status_code == 422 and "increasing" in r.text
    r = client.post("/api/v1/near-repeat/runs", json={**BODY, "permutations": 0}, headers=a)
    assert r.status_code == 422


def test_a_viewer_cannot_start_a_run(client, db_url) -> None:
    v = _headers(db_url, "viewer", "KGZ-NRA")
    assert client.post("/api/v1/near-repeat/runs", json=BODY, headers=v).status_code == 403
    assert client.get("/api/v1/near-repeat/runs", headers=v).status_code == 200


def test_a_window_without_incidents_fails_the_run_with_the_reason(client, db_url) -> None:
    a = _headers(db_url, "analyst", "KGZ-NRA")
    body = {**BODY, "since": "2020-01-01T00:00:00Z", "until": "2020-02-01T00:00:00Z"}
    run = client.post("/api/v1/near-repeat/runs", json=body, headers=a).json()
    done = client.get(run["links"]["self"], headers=a).json()
    assert done["status"] == "failed" and "fewer than two" in done["error"]
