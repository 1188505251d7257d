"""Vector tiles: TileJSON, zoom/address limits, content decoded by GDAL's MVT driver (an
independent reader), ETag/304, and cache invalidation when a row is written."""

from __future__ import annotations

from pathlib import Path

import mercantile
import psycopg
import pyogrio.raw
import pytest
from fastapi.testclient import TestClient

from tests.api.seed import N_INCIDENTS, Seed, analyst_client, seed_layers
from tests.conftest import create_database, drop_database, prepare_database

VISIBLE = {i for i in range(N_INCIDENTS) if i % 5}


# These tests assert exactly what a tile holds, so they get a database of their own: the
# session database also carries other tests' incidents of the same agencies.
@pytest.fixture(scope="module")
def db_url(pg_base_url: str):
    url = create_database(pg_base_url, "geomon_tiles")
    try:
        prepare_database(url)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def seed(db_url: str) -> Seed:
    with psycopg.connect(db_url) as conn:
        return seed_layers(conn)


@pytest.fixture(scope="module")
def client(db_url: str, seed: Seed):
    yield from analyst_client(db_url)


def _decode(data: bytes, z: int, x: int, y: int, tmp: Path, layer: str) -> list[dict]:
    """Features of ``layer`` in an MVT, read with GDAL (lon/lat from the z/x/y path)."""
    path = tmp / str(z) / str(x) / f"{y}.mvt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if not data:
        return []
    meta, _, geoms, cols = pyogrio.raw.read(path, layer=layer, return_fids=False)
    return [dict(zip(meta["fields"], [c[i] for c in cols], strict=True)) for i in range(len(geoms))]


def test_tilejson(client: TestClient) -> None:
    body = client.get("/tiles/incidents.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith("/tiles/incidents/{z}/{x}/{y}.mvt")
    assert body["vector_layers"][0]["id"] == "incidents"
    x0, y0, x1, y1 = body["bounds"]
    assert 70 <= x0 < x1 <= 75 and 38 <= y0 < y1 <= 43
    assert client.get("/tiles/nope.json").status_code == 404


def test_zoom_and_address_limits(client: TestClient) -> None:
    assert client.get("/tiles/tracks/2/1/1.mvt").status_code == 404  # minzoom 5
    assert client.get("/tiles/incidents/3/8/1.mvt").status_code == 400  # x beyond 2^3
    assert client.get("/tiles/incidents/25/0/0.mvt").status_code == 422
    assert client.get("/tiles/incidents/a/0/0.mvt").status_code == 404  # no such tile path


def test_tile_holds_the_visible_incidents(client: TestClient, tmp_path: Path) -> None:
    t = mercantile.tile(71.0, 39.0, 5)
    r = client.get(f"/tiles/incidents/{t.z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    feats = _decode(r.content, t.z, t.x, t.y, tmp_path, "incidents")
    b = mercantile.bounds(t)
    expected = {
        i
        for i in VISIBLE
        if b.west <= 70 + 0.2 * i <= b.east and b.south <= 38 + 0.2 * i <= b.north
    }
    assert sorted(int(f["quantity"]) for f in feats) == sorted(expected)
    assert expected and all(f["category"] == "seizure" for f in feats)


def test_hotspot_run_layer(client: TestClient, seed: Seed, tmp_path: Path) -> None:
    t = mercantile.tile(74.5, 42.05, 7)
    r = client.get(f"/tiles/hotspots-{seed.hotspot_run}/{t.z}/{t.x}/{t.y}.mvt")
    feats = _decode(r.content, t.z, t.x, t.y, tmp_path, f"hotspots-{seed.hotspot_run}")
    assert sorted(int(f["cell_id"]) for f in feats) == list(range(12))


def test_etag_304_and_invalidation_on_write(
    client: TestClient, db_url: str, seed: Seed, tmp_path: Path
) -> None:
    t = mercantile.tile(71.0, 39.0, 5)
    url = f"/tiles/incidents/{t.z}/{t.x}/{t.y}.mvt"
    first = client.get(url)
    again = client.get(url)
    assert again.headers["x-tile-cache"] == "hit" and again.content == first.content
    assert "no-cache" in first.headers["cache-control"]
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    for header in (f"W/{etag}", f'"other", W/{etag}', "*"):  # weak comparison, lists, any
        assert client.get(url, headers={"If-None-Match": header}).status_code == 304, header
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    with psycopg.connect(db_url) as conn:  # another writer (the owner, like ingest)
        conn.execute(
            "INSERT INTO incidents (agency_id, category, quantity, occurred_at, geom, source) "
            "VALUES (%s, 'detention', 999, now(), ST_SetSRID(ST_MakePoint(71, 39), 4326), "
            "'tile-test')",
            (seed.agency_a,),
        )
    try:
        fresh = client.get(url, headers={"If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag
        assert fresh.headers["x-tile-cache"] == "miss"
        qty = [
            int(f["quantity"]) for f in _decode(fresh.content, t.z, t.x, t.y, tmp_path, "incidents")
        ]
        assert 999 in qty
    finally:
        with psycopg.connect(db_url) as conn:
            conn.execute("DELETE FROM incidents WHERE source = 'tile-test'")


def test_tiles_differ_per_agency(client: TestClient, db_url: str, tmp_path: Path) -> None:
    from tests.api.seed import auth_headers

    t = mercantile.tile(71.0, 39.0, 5)
    url = f"/tiles/incidents/{t.z}/{t.x}/{t.y}.mvt"
    mine = client.get(url)
    theirs = client.get(url, headers=auth_headers(db_url, role="viewer", agency="TJK-BS"))
    assert mine.headers["etag"] != theirs.headers["etag"]
    q = {int(f["quantity"]) for f in _decode(theirs.content, t.z, t.x, t.y, tmp_path, "incidents")}
    assert q and all(i % 5 == 0 for i in q)


def test_tracks_tile_shows_todays_fixes_only(
    client: TestClient, db_url: str, seed: Seed, tmp_path: Path
) -> None:
    dev = seed.devices["kg-2"]
    t = mercantile.tile(73.05, 40.55, 9)
    url = f"/tiles/tracks/{t.z}/{t.x}/{t.y}.mvt"
    before = _decode(client.get(url).content, t.z, t.x, t.y, tmp_path, "tracks")
    assert before == []  # the seeded fixes are days old: outside the today+yesterday window
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO positions (device_id, fix_time, geom, valid) SELECT %s, "
            "now() - g * interval '1 minute', ST_SetSRID(ST_MakePoint(73.0 + g * 0.001, "
            "40.5 + g * 0.001), 4326), true FROM generate_series(1, 5) g",
            (dev,),
        )
    try:
        after = _decode(client.get(url).content, t.z, t.x, t.y, tmp_path / "2", "tracks")
        assert [(int(f["device_id"]), int(f["n_fixes"])) for f in after] == [(dev, 5)]
    finally:
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "DELETE FROM positions WHERE device_id = %s AND fix_time > now() - "
                "interval '1 hour'",
                (dev,),
            )
