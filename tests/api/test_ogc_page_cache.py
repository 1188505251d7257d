"""OGC items pages are cached per query, caller visibility and table change counters: an
identical request is served from the cache, and a write to the collection's table or to an
agency (whose code the page shows) is seen at once."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.api.seed import Seed

URL = "/ogc/collections/incidents/items"


def _stats(client: TestClient) -> tuple[int, int]:
    s = client.app.state.ogc_page_cache.stats  # type: ignore[attr-defined]
    return s.hits, s.misses


def test_identical_pages_hit_and_writes_miss(client: TestClient, db_url: str, seed: Seed) -> None:
    params = {"limit": 7, "bbox": "69,37,80,47"}
    first = client.get(URL, params=params).json()
    hits, misses = _stats(client)
    again = client.get(URL, params=params).json()
    assert _stats(client) == (hits + 1, misses)
    assert again["features"] == first["features"]
    assert again["numberMatched"] == first["numberMatched"]
    with psycopg.connect(db_url) as conn:  # another writer (the owner, like a loader)
        conn.execute(
            "INSERT INTO incidents (agency_id, category, quantity, occurred_at, geom, source) "
            "VALUES (%s, 'detention', 1, '2000-01-01', ST_SetSRID(ST_MakePoint(71, 39), 4326), "
            "'page-cache-test')",
            (seed.agency_a,),
        )
    try:
        fresh = client.get(URL, params=params).json()
        assert fresh["numberMatched"] == first["numberMatched"] + 1
    finally:
        with psycopg.connect(db_url) as conn:
            conn.execute("DELETE FROM incidents WHERE source = 'page-cache-test'")
    assert client.get(URL, params=params).json()["numberMatched"] == first["numberMatched"]


def test_an_agency_rename_misses(client: TestClient, db_url: str, seed: Seed) -> None:
    params = {"limit": 3}
    before = client.get(URL, params=params).json()
    assert {f["properties"]["agency"] for f in before["features"]} == {"KGZ-BS"}
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE agencies SET code = 'KGZ-BX' WHERE id = %s", (seed.agency_a,))
    try:
        after = client.get(URL, params=params).json()
        assert {f["properties"]["agency"] for f in after["features"]} == {"KGZ-BX"}
    finally:
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE agencies SET code = 'KGZ-BS' WHERE id = %s", (seed.agency_a,))


def test_pages_differ_per_agency(client: TestClient, db_url: str) -> None:
    from tests.api.seed import auth_headers

    params = {"limit": 100}
    mine = client.get(URL, params=params).json()
    other = client.get(
        URL, params=params, headers=auth_headers(db_url, role="analyst", agency="TJK-BS")
    ).json()
    assert {f["properties"]["agency"] for f in mine["features"]} == {"KGZ-BS"}
    assert {f["properties"]["agency"] for f in other["features"]} == {"TJK-BS"}
