"""Raster surfaces: a small UTM GeoTIFF (written with geomon.spatial.raster_io) served as Web
Mercator PNG tiles with rescale/colormap/transparent nodata, TileJSON, and point values."""

from __future__ import annotations

import io
from collections.abc import Iterator

import mercantile
import numpy as np
import psycopg
import pytest
from affine import Affine
from fastapi.testclient import TestClient
from PIL import Image
from pyproj import Transformer

from geomon.spatial.raster_io import Grid, write_geotiff
from tests.api.seed import Seed

CX, CY, CELL, N = 500_000.0, 4_705_000.0, 200.0, 200  # 40 km square, UTM 43N (~75E, 42.5N)
TO_LL = Transformer.from_crs("EPSG:32643", "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def surface_id(db_url: str, seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    arr = np.zeros((N, N), dtype="float32")
    arr[:, N // 2 :] = 10.0  # east half 10, west half 0
    arr[: N // 4, :] = -9999.0  # northern quarter: nodata
    arr[N // 2, N // 4] = 7.5  # one marked cell
    west, north = CX - N / 2 * CELL, CY + N / 2 * CELL
    path = write_geotiff(
        tmp_path_factory.mktemp("surf") / "risk.tif",
        Grid(arr, Affine(CELL, 0, west, 0, -CELL, north), "EPSG:32643", -9999.0),
    )
    with psycopg.connect(db_url) as conn:
        sid = conn.execute(
            "INSERT INTO surfaces (kind, name, path, crs, units, params, agency_id) VALUES "
            "('risk', 'test risk', %s, 'EPSG:32643', 'score', '{}', %s) RETURNING id",
            (str(path), seed.agency_a),
        ).fetchone()[0]
    yield sid


def _pixel(
    client: TestClient, sid: int, x_m: float, y_m: float, z: int = 12, **params: str
) -> tuple[int, int, int, int]:
    lon, lat = TO_LL.transform(x_m, y_m)
    t = mercantile.tile(lon, lat, z)
    r = client.get(f"/tiles/surfaces/{sid}/{t.z}/{t.x}/{t.y}.png", params=params)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("RGBA")
    b = mercantile.xy_bounds(t)
    mx, my = mercantile.xy(lon, lat)
    px = int((mx - b.left) / (b.right - b.left) * 256)
    py = int((b.top - my) / (b.top - b.bottom) * 256)
    return img.getpixel((px, py))


def test_tile_colours_rescale_and_transparent_nodata(client: TestClient, surface_id: int) -> None:
    grey = {"colormap": "greys", "rescale": "0,10"}
    assert _pixel(client, surface_id, CX - 5000, CY - 3000, **grey) == (0, 0, 0, 255)
    assert _pixel(client, surface_id, CX + 5000, CY - 3000, **grey) == (255, 255, 255, 255)
    assert _pixel(client, surface_id, CX, CY + 15000, **grey)[3] == 0  # nodata
    assert _pixel(client, surface_id, CX + 30000, CY, **grey)[3] == 0  # off the raster
    half = _pixel(client, surface_id, CX + 5000, CY - 3000, colormap="greys", rescale="0,20")
    assert abs(half[0] - 127) <= 1


def test_tile_errors_and_etag(client: TestClient, surface_id: int) -> None:
    base = f"/tiles/surfaces/{surface_id}"
    assert client.get(f"{base}/2/9/0.png").status_code == 400
    assert client.get(f"{base}/5/22/11.png", params={"rescale": "5,1"}).status_code == 400
    assert client.get(f"{base}/5/22/11.png", params={"colormap": "rainbow"}).status_code == 400
    assert client.get("/tiles/surfaces/999999/5/22/11.png").status_code == 404
    r = client.get(f"{base}/5/22/11.png")
    assert (
        client.get(f"{base}/5/22/11.png", headers={"If-None-Match": r.headers["etag"]}).status_code
        == 304
    )


def test_tilejson(client: TestClient, surface_id: int) -> None:
    body = client.get(f"/tiles/surfaces/{surface_id}.json").json()
    assert body["tilejson"] == "3.0.0" and body["tiles"][0].endswith("/{z}/{x}/{y}.png")
    w, s, e, n = body["bounds"]
    assert 74.5 < w < 75 < e < 75.5 and 42.2 < s < 42.5 < n < 42.8
    assert 0 <= body["minzoom"] < body["maxzoom"] <= 22


def test_point_values(client: TestClient, surface_id: int) -> None:
    west, north = CX - N / 2 * CELL, CY + N / 2 * CELL
    mx, my = west + (N // 4 + 0.5) * CELL, north - (N // 2 + 0.5) * CELL  # the marked cell
    lon, lat = TO_LL.transform(mx, my)
    url = f"/surfaces/{surface_id}/point"
    assert client.get(url, params={"lon": lon, "lat": lat}).json()["value"] == 7.5
    lon, lat = TO_LL.transform(CX + 5000, CY)
    assert client.get(url, params={"lon": lon, "lat": lat}).json()["value"] == 10.0
    lon, lat = TO_LL.transform(CX, CY + 15000)
    body = client.get(url, params={"lon": lon, "lat": lat}).json()
    assert body["value"] is None and body["inside"] is False
    assert client.get(url, params={"lon": 75, "lat": 95}).status_code == 422
    assert client.get(url, params={"lon": "x", "lat": 42}).status_code == 422
