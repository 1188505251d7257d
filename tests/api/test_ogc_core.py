"""OGC API – Features Part 1 against the abstract test suite (core, geojson, html) on a real
PostGIS with seeded layers. Expected values come from the seed, not from the API itself."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.seed import DAY, N_INCIDENTS, Seed, auth_headers

# The client is an analyst of KGZ-BS: every 5th seeded incident (i % 5 == 0) is TJK-BS's and,
# unshared, invisible to it (row-level security).
VISIBLE = {i for i in range(N_INCIDENTS) if i % 5}

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"


def _rels(doc: dict) -> dict[str, dict]:
    return {(link["rel"], link["type"]): link for link in doc["links"]}


def test_landing_page_links(client: TestClient) -> None:  # /conformance/core/landing-page-op
    r = client.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    rels = {link["rel"] for link in r.json()["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= rels
    desc = next(link for link in r.json()["links"] if link["rel"] == "service-desc")
    assert client.get(desc["href"]).json()["openapi"].startswith("3.")


def test_conformance_declares_only_what_we_do(client: TestClient) -> None:
    body = client.get("/ogc/conformance").json()
    assert set(body["conformsTo"]) == {CONF + "core", CONF + "geojson", CONF + "html"}


def test_collections_have_items_links_and_extents(client: TestClient, seed: Seed) -> None:
    body = client.get("/ogc/collections").json()
    ids = {c["id"] for c in body["collections"]}
    assert {
        "places",
        "borders",
        "zones",
        "incidents",
        "positions-latest",
        "tracks",
        "observations",
        "events",
        f"hotspots-{seed.hotspot_run}",
        f"corridors-{seed.surface_id}",
    } <= ids
    for c in body["collections"]:
        assert any(
            link["rel"] == "items" and link["type"] == "application/geo+json" for link in c["links"]
        ), c["id"]
        x0, y0, x1, y1 = c["extent"]["spatial"]["bbox"][0]
        assert -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
    inc = next(c for c in body["collections"] if c["id"] == "incidents")
    start, end = inc["extent"]["temporal"]["interval"][0]
    assert start.startswith("2026-11-21") and end.startswith(
        (DAY + timedelta(days=N_INCIDENTS - 1)).date().isoformat()
    )


def test_collection_metadata_and_unknown_collection(client: TestClient) -> None:
    r = client.get("/ogc/collections/places")
    assert r.status_code == 200 and r.json()["id"] == "places"
    assert client.get("/ogc/collections/nope").status_code == 404
    assert client.get("/ogc/collections/hotspots-999999").status_code == 404


def test_items_default_limit_and_geojson(client: TestClient) -> None:
    r = client.get("/ogc/collections/incidents/items")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 10
    assert body["numberMatched"] == len(VISIBLE)
    assert body["timeStamp"].endswith("Z")
    f = body["features"][0]
    assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
    assert {"category", "quantity", "occurred_at"} <= set(f["properties"])


@pytest.mark.parametrize("limit,expected", [(1, 1), (25, 20), (20000, 20)])
def test_items_limit(client: TestClient, limit: int, expected: int) -> None:
    body = client.get("/ogc/collections/incidents/items", params={"limit": limit}).json()
    assert body["numberReturned"] == expected


@pytest.mark.parametrize(
    "params,word",
    [
        ({"limit": 0}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": -3}, "limit"),
        ({"bbox": "1,2,3"}, "4 or 6"),
        ({"bbox": "70,45,80,40"}, "minLat"),
        ({"bbox": "a,b,c,d"}, "numbers"),
        ({"bbox": "70,40,200,45"}, "longitudes"),
        ({"datetime": "yesterday"}, "RFC 3339"),
        ({"datetime": "2026-11-20T10:00:00"}, "offset"),
        ({"datetime": "../.."}, "closed end"),
        ({"datetime": "2026-12-01/2026-11-01"}, "after"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"colour": "red"}, "unknown"),
        ({"f": "xml"}, "f must"),
    ],
)
def test_invalid_parameters_answer_400_with_reason(
    client: TestClient, params: dict, word: str
) -> None:
    r = client.get("/ogc/collections/incidents/items", params=params)
    assert r.status_code == 400, r.text
    assert word in r.json()["detail"]


def _expected_in_bbox(x0: float, y0: float, x1: float, y1: float) -> set[int]:
    """Seed incident i sits at (70 + 0.2 i, 38 + 0.2 i); ids follow i (COPY order)."""
    return {i for i in VISIBLE if x0 <= 70 + i * 0.2 <= x1 and y0 <= 38 + i * 0.2 <= y1}


def _incident_ids(conn: psycopg.Connection) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM incidents WHERE source = 'test' ORDER BY id"
        ).fetchall()
    ]


def test_items_bbox(client: TestClient, conn: psycopg.Connection) -> None:
    ids = _incident_ids(conn)
    body = client.get(
        "/ogc/collections/incidents/items", params={"bbox": "70.5,38.5,72.1,40", "limit": 100}
    ).json()
    got = {ids.index(f["id"]) for f in body["features"]}
    assert got == _expected_in_bbox(70.5, 38.5, 72.1, 40) == {3, 4, 6, 7, 8, 9}
    six = client.get(
        "/ogc/collections/incidents/items", params={"bbox": "70.5,38.5,0,72.1,40,100", "limit": 100}
    ).json()
    assert {f["id"] for f in six["features"]} == {f["id"] for f in body["features"]}


def test_items_bbox_across_antimeridian_matches_two_boxes(client: TestClient) -> None:
    body = client.get(
        "/ogc/collections/incidents/items", params={"bbox": "72,30,-170,50", "limit": 100}
    ).json()
    assert body["numberMatched"] == len(_expected_in_bbox(72, 30, 180, 50))


@pytest.mark.parametrize(
    "dt,days",
    [
        ("2026-11-26T00:00:00Z", {6}),
        ("2026-11-26", {6}),
        ("2026-11-25T00:00:00Z/2026-11-27T00:00:00Z", {5, 6, 7}),
        ("2026-12-10T00:00:00Z/..", set(range(20, N_INCIDENTS))),
        ("../2026-11-21T00:00:00Z", {0, 1}),
        ("/2026-11-21T00:00:00+00:00", {0, 1}),
        ("2026-11-26T05:00:00+05:00", {6}),
        ("2026-11-25T12:00:00Z", set()),
    ],
)
def test_items_datetime(
    client: TestClient, conn: psycopg.Connection, dt: str, days: set[int]
) -> None:
    ids = _incident_ids(conn)
    body = client.get(
        "/ogc/collections/incidents/items", params={"datetime": dt, "limit": 100}
    ).json()
    assert {ids.index(f["id"]) for f in body["features"]} == days & VISIBLE


def test_paging_with_next_and_prev_links(client: TestClient, conn: psycopg.Connection) -> None:
    url, seen, pages = "/ogc/collections/incidents/items?limit=7", [], []
    while url:
        body = client.get(url).json()
        pages.append([f["id"] for f in body["features"]])
        seen += pages[-1]
        nxt = [link for link in body["links"] if link["rel"] == "next"]
        url = nxt[0]["href"] if nxt else ""
        assert all("offset" not in link["href"] for link in body["links"])
    visible_ids = [x for i, x in enumerate(_incident_ids(conn)) if i in VISIBLE]
    assert seen == visible_ids and [len(p) for p in pages] == [7, 7, 6]
    body = client.get("/ogc/collections/incidents/items?limit=7").json()
    second = client.get(next(x["href"] for x in body["links"] if x["rel"] == "next")).json()
    assert not [x for x in body["links"] if x["rel"] == "prev"]
    back = client.get(next(x["href"] for x in second["links"] if x["rel"] == "prev")).json()
    assert [f["id"] for f in back["features"]] == pages[0]


def test_paging_keeps_filters(client: TestClient) -> None:
    body = client.get(
        "/ogc/collections/incidents/items", params={"limit": 2, "bbox": "70.5,38.5,72.1,40"}
    ).json()
    nxt = next(x["href"] for x in body["links"] if x["rel"] == "next")
    assert "bbox=" in nxt
    assert client.get(nxt).json()["numberMatched"] == 6


def test_feature_by_id(client: TestClient, conn: psycopg.Connection) -> None:
    fid = _incident_ids(conn)[3]
    r = client.get(f"/ogc/collections/incidents/items/{fid}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.json()["id"] == fid and r.json()["properties"]["quantity"] == 3
    assert {x["rel"] for x in r.json()["links"]} >= {"self", "collection"}
    assert client.get("/ogc/collections/incidents/items/999999999").status_code == 404
    assert client.get("/ogc/collections/incidents/items/abc").status_code == 404


def test_tracks_one_line_per_device_and_utc_day(client: TestClient, seed: Seed) -> None:
    body = client.get("/ogc/collections/tracks/items", params={"limit": 100}).json()
    ids = [f["id"] for f in body["features"]]
    dev = seed.devices["kg-1"]
    assert f"{dev}_2026-11-20" in ids and f"{dev}_2026-11-21" in ids
    line = client.get(f"/ogc/collections/tracks/items/{dev}_2026-11-20").json()
    # a fix every 10 min from 16:00: 48 of them before midnight UTC
    assert line["geometry"]["type"] == "LineString"
    assert len(line["geometry"]["coordinates"]) == line["properties"]["n_fixes"] == 48
    assert line["geometry"]["coordinates"][0] == [74.5, 42.8]
    day2 = client.get(
        "/ogc/collections/tracks/items", params={"datetime": "2026-11-21T05:00:00Z", "limit": 100}
    ).json()
    kg = (seed.devices["kg-1"], seed.devices["kg-2"])  # tj-1 is another agency's
    assert {f["id"] for f in day2["features"]} == {f"{d}_2026-11-21" for d in kg}
    late = client.get(
        "/ogc/collections/tracks/items", params={"datetime": "2026-11-21T12:00:00Z"}
    ).json()
    assert late["features"] == []  # the day's fixes end at 07:50


def test_hotspot_run_cells_carry_statistics(client: TestClient, seed: Seed) -> None:
    body = client.get(
        f"/ogc/collections/hotspots-{seed.hotspot_run}/items", params={"limit": 100}
    ).json()
    assert body["numberMatched"] == 12
    hot = [f for f in body["features"] if f["properties"]["gi_bin"] == 3]
    assert sorted(f["id"] for f in hot) == [8, 9, 10, 11]
    assert body["features"][0]["properties"]["z"] == -5.0


def test_html_by_f_and_by_accept(client: TestClient) -> None:
    for url in (
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/places",
        "/ogc/collections/places/items",
    ):
        r = client.get(url, params={"f": "html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "<html lang='en'>" in r.text
    # the page's own words follow Accept-Language (the data stays as stored)
    r = client.get("/ogc/collections/places/items?f=html", headers={"Accept-Language": "ru"})
    assert "<html lang='ru'>" in r.text and "найденных" in r.text
    r = client.get("/ogc/collections/incidents/items", headers={"Accept": "text/html"})
    assert r.headers["content-type"].startswith("text/html") and "seizure" in r.text
    r = client.get("/ogc/collections/incidents/items", headers={"Accept": "application/json"})
    assert r.headers["content-type"] == "application/geo+json"


def test_other_agency_sees_only_its_own_rows(client: TestClient, db_url: str, seed: Seed) -> None:
    tj = auth_headers(db_url, role="viewer", agency="TJK-BS")
    body = client.get("/ogc/collections/incidents/items", params={"limit": 100}, headers=tj).json()
    assert body["numberMatched"] == N_INCIDENTS - len(VISIBLE)
    latest = client.get("/ogc/collections/positions-latest/items", headers=tj).json()
    assert [f["id"] for f in latest["features"]] == [seed.devices["tj-1"]]
    assert (
        client.get(f"/ogc/collections/hotspots-{seed.hotspot_run}", headers=tj).status_code == 404
    )
    fid = body["features"][0]["id"]
    assert client.get(f"/ogc/collections/incidents/items/{fid}").status_code == 404


def test_no_credentials_no_data(client: TestClient) -> None:
    r = client.get("/ogc/collections/incidents/items", headers={"Authorization": ""})
    assert r.status_code == 401
