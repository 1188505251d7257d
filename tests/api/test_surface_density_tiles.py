"""A density (KDE) surface's tiles leave zero cells transparent (a risk surface's zero is a
value and stays drawn), and its TileJSON tells the map's legend the range, units and colours."""

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
def surfaces(
    db_url: str, seed: Seed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    arr = np.zeros((N, N), dtype="float32")
    arr[:, N // 2 :] = 4.0  # east half 4, west half 0
    west, north = CX - N / 2 * CELL, CY + N / 2 * CELL
    folder = tmp_path_factory.mktemp("density")
    path = write_geotiff(
        folder / "kde.tif", Grid(arr, Affine(CELL, 0, west, 0, -CELL, north), "EPSG:32643", -1.0)
    )
    ids = {}
    with psycopg.connect(db_url) as conn:
        for kind in ("kde", "risk"):
            ids[kind] = conn.execute(
                "INSERT INTO surfaces (kind, name, path, crs, units, params, agency_id) VALUES "
                "(%s, %s, %s, 'EPSG:32643', 'points per km2', '{}', %s) RETURNING id",
                (kind, f"test {kind}", str(path), seed.agency_a),
            ).fetchone()[0]
    yield ids


def _pixel(client: TestClient, sid: int, x_m: float, y_m: float, z: int = 12) -> tuple:
    lon, lat = TO_LL.transform(x_m, y_m)
    t = mercantile.tile(lon, lat, z)
    r = client.get(f"/tiles/surfaces/{sid}/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200
    img = Image.open(io.BytesIO(r.content)).convert("RGBA")
    b = mercantile.xy_bounds(t)
    mx, my = mercantile.xy(lon, lat)
    return img.getpixel(
        (
            int((mx - b.left) / (b.right - b.left) * 256),
            int((b.top - my) / (b.top - b.bottom) * 256),
        )
    )


def test_zero_density_is_transparent(client: TestClient, surfaces: dict[str, int]) -> None:
    kde, risk = surfaces["kde"], surfaces["risk"]
    assert _pixel(client, kde, CX - 5000, CY)[3] == 0  # zero density: nothing drawn
    assert _pixel(client, kde, CX + 5000, CY)[3] == 255
    assert _pixel(client, risk, CX - 5000, CY)[3] == 255  # a risk of zero is still a value


def test_tilejson_has_the_legend(client: TestClient, surfaces: dict[str, int]) -> None:
    body = client.get(f"/tiles/surfaces/{surfaces['kde']}.json").json()
    assert body["geomon:range"] == [0.0, 4.0]
    assert body["geomon:units"] == "points per km2"
    assert body["geomon:zero_transparent"] is True
    colours = body["geomon:colours"]
    assert len(colours) == 9 and colours[0] == "#440154" and colours[-1] == "#fde725"
