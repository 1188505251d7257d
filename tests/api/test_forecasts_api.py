"""/api/v1/forecasts/runs with real users and tokens, through the geomon_app role (row-level
security always applies): start, poll, locations GeoJSON, one location's chart, rerun, bad
input named in a 422, isolation between agencies."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import mercantile
import numpy as np
import psycopg
import pyogrio.raw
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.store.devices import ensure_agency
from tests.helpers.auth import make_user

CAT = "fc-api"
OWN, OTHER = "TJK-FCA", "UZB-FCA"
MONTHS = 60  # 2021-01 .. 2025-12


def _seed(db_url: str) -> int:
    """Two hot spots on AFG-TJK with a June peak for OWN; noise for OTHER (invisible to OWN)."""
    rng = np.random.default_rng(5)
    n_own = 0
    with psycopg.connect(db_url) as conn:
        wkb = conn.execute("SELECT ST_AsBinary(geom) FROM borders WHERE code = 'AFG-TJK'")
        line = shapely.line_merge(shapely.from_wkb(bytes(wkb.fetchone()[0])))
        part = max(getattr(line, "geoms", [line]), key=lambda g: g.length)
        spots = [part.interpolate(f, normalized=True) for f in (0.2, 0.7)]
        for code in (OWN, OTHER):
            agency = ensure_agency(conn, code)
            xs, ys, ts = [], [], []
            for k in range(MONTHS):
                t = datetime(2021 + k // 12, k % 12 + 1, 12, tzinfo=UTC)
                peak = 3 * np.exp(-0.5 * ((k % 12 - 5) / 1.0) ** 2) if code == OWN else 0
                for s in spots:
                    n = rng.poisson(10 * (1 + peak))
                    xs += (s.x + rng.normal(0, 0.005, n)).tolist()
                    ys += [s.y] * n
                    ts += [t] * n
            if code == OWN:
                n_own = len(xs)
            conn.execute(
                "INSERT INTO incidents (agency_id, category, occurred_at, geom) "
                "SELECT %s, %s, t, ST_SetSRID(ST_MakePoint(x, y), 4326) "
                "FROM unnest(%s::float8[], %s::float8[], %s::timestamptz[]) u(x, y, t)",
                (agency, CAT, xs, ys, ts),
            )
    return n_own


@pytest.fixture(scope="module")
def seeded(db_url: str, app_db_url: str) -> Iterator[tuple[TestClient, int]]:
    n_own = _seed(db_url)
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url)))
    with TestClient(app) as c:
        yield c, n_own


def _headers(db_url: str, role: str, agency: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_user(db_url, role=role, agency=agency)[2]}"}


BODY = {
    "units": "border_sectors",
    "border": "AFG-TJK",
    "sector_km": 50,
    "buffer_km": 5,
    "category": CAT,
    "since": "2021-01-01T00:00:00Z",
    "until": "2026-01-01T00:00:00Z",
    "horizon": 12,
}
URL = "/api/v1/forecasts/runs"


@pytest.fixture(scope="module")
def done_run(seeded, db_url) -> dict:
    client, _ = seeded
    a = _headers(db_url, "analyst", OWN)
    r = client.post(URL, json=BODY, headers=a)
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] == "queued" and run["params"]["until"].startswith("2026-01-01")
    return {"run": run, "headers": a}


def test_a_run_forecasts_the_planted_june_peak_on_what_the_agency_sees(seeded, done_run) -> None:
    client, n_own = seeded
    run, a = done_run["run"], done_run["headers"]
    done = client.get(run["links"]["self"], headers=a).json()
    assert done["status"] == "done", done
    assert done["n_steps"] == MONTHS and done["n_events"] == n_own  # OTHER's are invisible
    r = client.get(run["links"]["cells"], headers=a)
    assert r.headers["content-type"].startswith("application/geo+json")
    feats = r.json()["features"]
    assert len(feats) == done["n_locations"] > 2
    props = [f["properties"] for f in feats]
    hot = [p for p in props if p["status"] == "ok"]
    assert len(hot) >= 2
    assert {p["peak"] for p in hot} == {6}  # June
    assert all(len(p["forecast"]) == len(p["upper"]) == 12 for p in hot)
    assert all(p["forecast"][0] == pytest.approx(p["expected_next"], abs=1e-4) for p in hot)
    assert all(p["trusted"] and p["mase"] < p["mase_naive"] for p in hot)
    empty = [p for p in props if p["status"] == "no_data"]
    assert empty and all(p["expected_next"] is None and not p["trusted"] for p in empty)
    assert client.get(URL, headers=a).json()["runs"][0]["id"] == run["id"]


def test_one_location_has_its_chart_series_and_step_times(seeded, done_run) -> None:
    client, _ = seeded
    run, a = done_run["run"], done_run["headers"]
    feats = client.get(run["links"]["cells"], headers=a).json()["features"]
    hot = max(
        (f for f in feats if f["properties"]["status"] == "ok"),
        key=lambda f: f["properties"]["expected_next"],
    )
    cell = client.get(f"{run['links']['cells']}/{hot['id']}", headers=a).json()
    s, times = cell["series"], cell["times"]
    assert len(s["history"]) == len(s["fitted"]) == len(times["history_starts"]) == MONTHS
    assert len(s["forecast"]) == len(s["lower"]) == len(s["upper"]) == len(s["naive"]) == 12
    assert times["forecast_starts"][0].startswith("2026-01-01")
    assert times["step"] == "month" and times["season_length"] == 12
    bounds = zip(s["lower"], s["forecast"], s["upper"], strict=True)
    assert all(lo <= f <= hi for lo, f, hi in bounds)
    assert cell["peak"] == 6 and cell["trusted"] is True
    # the forecast for June is the largest of the year, the baseline is last year's counts
    assert int(np.argmax(s["forecast"])) == 5
    assert s["naive"] == s["history"][-12:]
    assert cell["geometry"]["type"] in ("Polygon", "MultiPolygon")
    missing = client.get(f"{run['links']['cells']}/99999", headers=a)
    assert missing.status_code == 404


def test_rerun_reproduces_the_run(seeded, done_run) -> None:
    client, _ = seeded
    run, a = done_run["run"], done_run["headers"]
    r = client.post(run["links"]["rerun"], headers=a)
    assert r.status_code == 202, r.text
    again = r.json()
    assert again["id"] != run["id"] and again["params"] == run["params"]
    first = client.get(run["links"]["cells"], headers=a).json()["features"]
    second = client.get(again["links"]["cells"], headers=a).json()["features"]
    assert [f["properties"] for f in first] == [f["properties"] for f in second]


def test_another_agency_sees_nothing_of_the_run(seeded, done_run, db_url) -> None:
    client, _ = seeded
    run = done_run["run"]
    b = _headers(db_url, "analyst", OTHER)
    for url in (run["links"]["self"], run["links"]["cells"], f"{run['links']['cells']}/0"):
        assert client.get(url, headers=b).status_code == 404
    assert client.post(run["links"]["rerun"], headers=b).status_code == 404
    assert run["id"] not in [x["id"] for x in client.get(URL, headers=b).json()["runs"]]
    assert client.delete(run["links"]["self"], headers=b).status_code == 404


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"since": "2024-01-01T00:00:00Z"}, "too few for a season of 12"),
        ({"since": "2021-01-15T00:00:00Z"}, "whole months"),
        ({"step": "week", "since": "2021-01-05T00:00:00Z"}, "Monday"),
        ({"since": "2010-01-01T00:00:00Z", "until": "2015-01-01T00:00:00Z"}, "no incident"),
        ({"border": "AAA-BBB"}, "no border"),
        ({"border": None}, "need a border code"),
        ({"until": "2021-01-01T00:00:00Z"}, "window is empty"),
        ({"since": "2021-01-01T00:00:00"}, "timezone"),
        ({"since": "1066-01-01T00:00:00Z"}, "years 1900-2200"),
        ({"agency": "NOPE-XX"}, "no agency"),
        ({"units": "zones", "zone_kind": "no-such-kind"}, "no active polygon zones"),
    ],
)
def test_bad_input_is_a_422_that_names_the_problem(seeded, db_url, change, says) -> None:
    client, _ = seeded
    a = _headers(db_url, "analyst", OWN)
    r = client.post(URL, json={**BODY, **change}, headers=a)
    assert r.status_code == 422, r.text
    assert says in r.text


def test_a_viewer_reads_runs_but_cannot_start_one(seeded, db_url) -> None:
    client, _ = seeded
    v = _headers(db_url, "viewer", OWN)
    assert client.post(URL, json=BODY, headers=v).status_code == 403
    assert client.get(URL, headers=v).status_code == 200


def test_the_run_is_an_ogc_collection_a_planner_can_export(
    seeded, done_run, db_url, tmp_path
) -> None:
    client, _ = seeded
    run, a = done_run["run"], done_run["headers"]
    cid = f"forecasts-{run['id']}"
    listed = client.get("/ogc/collections", headers=a, params={"f": "json"}).json()
    assert cid in [c["id"] for c in listed["collections"]]
    items = client.get(run["links"]["ogc_items"], headers=a, params={"limit": 1000}).json()
    by_id = {f["id"]: f["properties"] for f in items["features"]}
    geo = client.get(run["links"]["cells"], headers=a).json()["features"]
    assert set(by_id) == {f["id"] for f in geo}
    for f in geo:
        p, q = f["properties"], by_id[f["id"]]
        assert (q["trusted"], q["expected_next"], q["peak"]) == (
            p["trusted"],
            p["expected_next"],
            p["peak"],
        )
        assert q["next_from"].startswith("2026-01-01") and q["next_to"].startswith("2026-02-01")
    assert {f["geometry"]["type"] for f in items["features"]} == {"MultiPolygon"}
    # trusted and hot: the equality filter on a queryable
    hot = client.get(run["links"]["ogc_items"], headers=a, params={"trusted": "true"}).json()
    assert hot["features"] and all(f["properties"]["trusted"] for f in hot["features"])
    r = client.get(run["links"]["ogc_items"], headers=a, params={"f": "gpkg"})
    assert r.status_code == 200, r.text
    path = tmp_path / f"{cid}.gpkg"
    path.write_bytes(r.content)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, timeout=60
    )
    assert info.returncode == 0, info.stderr
    assert f"Feature Count: {len(geo)}" in info.stdout
    assert "Multi Polygon" in info.stdout and "trusted: Integer(Boolean)" in info.stdout
    b = _headers(db_url, "analyst", OTHER)
    assert client.get(run["links"]["ogc_items"], headers=b).status_code == 404


def test_the_run_has_vector_tiles(seeded, done_run, tmp_path) -> None:
    client, _ = seeded
    run, a = done_run["run"], done_run["headers"]
    tj = client.get(run["links"]["tiles"], headers=a).json()
    assert "trusted" in tj["vector_layers"][0]["fields"]
    lon, lat = (tj["bounds"][0] + tj["bounds"][2]) / 2, (tj["bounds"][1] + tj["bounds"][3]) / 2
    t = mercantile.tile(lon, lat, 6)
    r = client.get(f"/tiles/forecasts-{run['id']}/{t.z}/{t.x}/{t.y}.mvt", headers=a)
    assert r.status_code == 200 and r.content
    path = tmp_path / str(t.z) / str(t.x) / f"{t.y}.mvt"
    path.parent.mkdir(parents=True)
    path.write_bytes(r.content)
    meta, _, geoms, cols = pyogrio.raw.read(path, layer=f"forecasts-{run['id']}")
    assert len(geoms) > 0 and "expected_next" in list(meta["fields"])


def _seed_cases(db_url: str) -> int:
    """Heroin seizure cases with a July peak at one spot on AFG-TJK, flat opium beside them,
    and one deleted heroin case (never counted)."""
    rng = np.random.default_rng(8)
    with psycopg.connect(db_url) as conn:
        wkb = conn.execute("SELECT ST_AsBinary(geom) FROM borders WHERE code = 'AFG-TJK'")
        line = shapely.line_merge(shapely.from_wkb(bytes(wkb.fetchone()[0])))
        spot = max(getattr(line, "geoms", [line]), key=lambda g: g.length).interpolate(0.45, True)
        agency = ensure_agency(conn, OWN)
        rows, n_heroin = [], 0
        for k in range(MONTHS):
            t = datetime(2021 + k // 12, k % 12 + 1, 20, tzinfo=UTC)
            n = rng.poisson(8 * (1 + 3 * np.exp(-0.5 * ((k % 12 - 6) / 1.0) ** 2)))
            rows += [("heroin", t)] * n + [("opium", t)] * rng.poisson(4)
            n_heroin += n
        conn.cursor().executemany(
            "INSERT INTO cases (agency_id, source, external_id, category, substance, "
            "occurred_at, geom, quantity_kg) VALUES (%s, 'fc-api', %s, 'drug_seizure', %s, %s, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326), 1.5)",
            [(agency, f"c{i}", s, t, spot.x, spot.y) for i, (s, t) in enumerate(rows)],
        )
        conn.execute(
            "INSERT INTO cases (agency_id, source, external_id, category, substance, occurred_at, "
            "geom, deleted_at, deleted_by) VALUES (%s, 'fc-api', 'gone', 'drug_seizure', "
            "'heroin', '2023-05-05Z', ST_SetSRID(ST_MakePoint(%s, %s), 4326), now(), 'test')",
            (agency, spot.x, spot.y),
        )
    return n_heroin


def test_a_forecast_of_one_substance_from_seizure_cases(seeded, db_url) -> None:
    client, _ = seeded
    n_heroin = _seed_cases(db_url)
    a = _headers(db_url, "analyst", OWN)
    body = {**BODY, "layer": "cases", "category": "drug_seizure", "substance": "heroin"}
    r = client.post(URL, json=body, headers=a)
    assert r.status_code == 202, r.text
    run = client.get(r.json()["links"]["self"], headers=a).json()
    assert run["status"] == "done" and run["n_events"] == n_heroin, run
    assert run["input_filter"]["substance"] == "heroin"
    feats = client.get(run["links"]["cells"], headers=a).json()["features"]
    hot = max(feats, key=lambda f: f["properties"]["expected_next"] or 0)["properties"]
    assert hot["status"] == "ok" and hot["peak"] == 7  # July
    r = client.post(URL, json={**BODY, "substance": "heroin"}, headers=a)
    assert r.status_code == 422 and "needs layer 'cases'" in r.text
    r = client.post(URL, json={**body, "substance": "cocaine"}, headers=a)
    assert r.status_code == 422 and "holds no case" in r.text


def test_incidents_near_no_location_fail_the_run_with_the_reason(seeded, db_url) -> None:
    client, _ = seeded
    a = _headers(db_url, "analyst", OWN)
    body = {**BODY, "units": "crossing_points", "country": "KAZ", "buffer_km": 1}
    r = client.post(URL, json=body, headers=a)
    assert r.status_code == 202, r.text  # incidents in the window, crossing points exist
    run = client.get(r.json()["links"]["self"], headers=a).json()
    assert run["status"] == "failed" and "no incidents at these locations" in run["error"]
    assert client.get(run["links"]["cells"], headers=a).json()["features"] == []
