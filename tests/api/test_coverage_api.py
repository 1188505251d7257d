"""GET /api/v1/coverage on a 10 x 10 risk surface (100 m cells, UTM 42N) and one team's stored
track: the counts are the hand-checked ones of tests/unit/test_coverage.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
from affine import Affine
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.spatial.raster_io import Grid, write_geotiff
from geomon.store.devices import add_device
from tests.helpers.auth import make_user

X0, Y0 = 500_000.0, 4_400_000.0  # top-left corner, EPSG:32642
T0 = datetime(2026, 11, 22, 6, tzinfo=UTC)


def test_coverage_numbers_layer_and_next_patrol(db_url: str, tmp_path: Path) -> None:
    agency = "CV" + uuid.uuid4().hex[:4]
    risk = np.zeros((10, 10), dtype=np.float32)
    risk[:, 8:] = 1.0
    risk[8:, 0:3] = 2.0  # a second high area far from the team (6 cells)
    path = write_geotiff(
        tmp_path / "risk.tif", Grid(risk, Affine(100, 0, X0, 0, -100, Y0), "EPSG:32642")
    )
    to_ll = Transformer.from_crs(32642, 4326, always_xy=True)
    # the team drives down column 9 (x = X0 + 950) from row 0 to row 4 (y = Y0 - 50 … - 450)
    pts = [to_ll.transform(X0 + 950, Y0 - 50 - 100 * i) for i in range(5)]
    with psycopg.connect(db_url) as conn:
        dev = add_device(conn, uid=f"cov-{uuid.uuid4().hex[:6]}", kind="tracker", agency=agency)
        for i, (lon, lat) in enumerate(pts):
            conn.execute(
                "INSERT INTO positions (device_id, fix_time, geom) VALUES "
                "(%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (dev.id, T0 + timedelta(minutes=i), lon, lat),
            )
        conn.execute(
            "INSERT INTO device_latest (device_id, fix_time, received_at, geom, valid) "
            "VALUES (%s, %s, now(), ST_SetSRID(ST_MakePoint(%s, %s), 4326), true)",
            (dev.id, T0 + timedelta(minutes=4), *pts[-1]),
        )
        sid = conn.execute(
            "INSERT INTO surfaces (kind, name, path, crs, params, agency_id) "
            "VALUES ('risk', 'test', %s, 'EPSG:32642', '{}', %s) RETURNING id",
            (str(path), dev.agency_id),
        ).fetchone()[0]
    token = make_user(db_url, role="viewer", agency=agency)[2]
    app = create_app(Settings(db=DbSettings(url=db_url)))
    with TestClient(app) as client:
        r = client.get(
            "/api/v1/coverage",
            headers={"Authorization": f"Bearer {token}"},
            params={
                "surface_id": sid,
                "since": T0.isoformat(),
                "distance_m": 100,
                "until": (T0 + timedelta(hours=1)).isoformat(),
                "threshold": 1,
            },
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == {"high_cells": 26, "covered_cells": 11, "share": 11 / 26}
    assert body["per_team"][dev.uid]["covered_cells"] == 11
    statuses = {f["properties"]["status"] for f in body["layer"]["features"]}
    assert statuses == {"covered", "uncovered"}
    areas = body["next_patrol"]["features"]
    # uncovered: 9 cells of the right strip (risk 1) and the 6-cell block (risk 2, score 12)
    assert [(a["properties"]["cells"], a["properties"]["score"]) for a in areas] == [
        (6, 120_000.0),
        (9, 90_000.0),
    ]
    near = areas[1]["properties"]["distance_m"][dev.uid]
    assert near < areas[0]["properties"]["distance_m"][dev.uid]
    # within a few hundred metres (scale 10 km) distance barely matters: score decides
    assert body["team_plans"][dev.uid] == [areas[0]["id"], areas[1]["id"]]
