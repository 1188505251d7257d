"""gzip of API answers: OGC pages are compressed at level 1 (the fast level: gzip's XFL header
byte is 4) and decompress to the same document; tiles are not compressed."""

from __future__ import annotations

import gzip
import json

import mercantile
from fastapi.testclient import TestClient

from tests.api.seed import Seed


def test_ogc_pages_are_gzipped_fast_and_intact(client: TestClient, seed: Seed) -> None:
    url, params = "/ogc/collections/incidents/items", {"limit": 100}
    with client.stream("GET", url, params=params, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join(r.iter_raw())
    assert raw[:2] == b"\x1f\x8b" and raw[8] == 4  # XFL 4: compressed with the fastest level
    plain = client.get(url, params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert json.loads(gzip.decompress(raw))["features"] == plain.json()["features"]


def test_tiles_are_not_gzipped(client: TestClient, seed: Seed) -> None:
    t = mercantile.tile(71.0, 39.0, 5)
    r = client.get(f"/tiles/incidents/{t.z}/{t.x}/{t.y}.mvt", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers
