"""``/basemap``: one MVT holding every basemap layer (decoded with GDAL's MVT driver,
an independent reader), cached and revalidated by ETag; the TileJSON names the layers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mercantile
import pyogrio
import pyogrio.raw
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from tests.api.seed import analyst_client

KHOROG = (71.55, 37.49)


@pytest.fixture(scope="module")
def analyst(db_url: str) -> Iterator[TestClient]:
    yield from analyst_client(db_url)


def _names(data: bytes, z: int, x: int, y: int, tmp: Path, layer: str) -> set[tuple[str, str]]:
    path = tmp / str(z) / str(x) / f"{y}.mvt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    meta, _, _, cols = pyogrio.raw.read(path, layer=layer, return_fids=False)
    f = list(meta["fields"])
    return set(zip(cols[f.index("name")], cols[f.index("name_ru")], strict=True))


def test_basemap_tile_holds_every_layer(analyst: TestClient, tmp_path: Path) -> None:
    t = mercantile.tile(*KHOROG, 8)
    r = analyst.get(f"/basemap/{t.z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    path = tmp_path / "probe" / f"{t.z}" / f"{t.x}" / f"{t.y}.mvt"
    path.parent.mkdir(parents=True)
    path.write_bytes(r.content)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"land", "rivers", "country_lines", "borders", "places", "crossings"} <= layers
    assert ("Khorugh", "Хорог") in _names(r.content, t.z, t.x, t.y, tmp_path, "places")
    assert ("Panj", "Пяндж") in _names(r.content, t.z, t.x, t.y, tmp_path, "rivers")


def test_basemap_tile_cache_and_revalidation(analyst: TestClient) -> None:
    url = "/basemap/4/11/6.mvt"
    r = analyst.get(url)
    assert r.status_code == 200 and r.headers["cache-control"] == "private, max-age=3600"
    again = analyst.get(url)
    assert again.headers["x-tile-cache"] == "hit" and again.content == r.content
    assert analyst.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_basemap_needs_a_login_and_a_real_address(db_url: str, analyst: TestClient) -> None:
    with TestClient(create_app(Settings(db=DbSettings(url=db_url)))) as anon:
        assert anon.get("/basemap/4/11/6.mvt").status_code == 401
    assert analyst.get("/basemap/2/4/0.mvt").status_code == 400
    assert analyst.get("/basemap/15/0/0.mvt").status_code == 422


def test_basemap_tilejson(analyst: TestClient) -> None:
    doc = analyst.get("/basemap.json").json()
    assert doc["tiles"][0].endswith("/basemap/{z}/{x}/{y}.mvt")
    ids = {layer["id"] for layer in doc["vector_layers"]}
    assert {"land", "water", "rivers", "borders", "places", "crossings"} <= ids
