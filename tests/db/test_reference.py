"""Reference data loads idempotently and keeps provenance and accuracy."""

from __future__ import annotations

import psycopg

from geomon.reference import read_features, read_places
from geomon.store.reference import reference_counts, upsert_borders, upsert_places
from tests.conftest import REFERENCE


def test_reload_is_idempotent(conn: psycopg.Connection) -> None:
    before = reference_counts(conn)
    upsert_borders(conn, read_features(REFERENCE / "borders_ne10m.geojson"))
    upsert_places(conn, read_places(REFERENCE / "places_central_asia.csv"))
    assert reference_counts(conn) == before
    assert before == {"countries": 14, "borders": 15, "places": 49}


def test_places_keep_accuracy_and_source(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "SELECT accuracy_m, source, ST_Y(geom), ST_X(geom) FROM places WHERE name LIKE 'Kordai%'"
    ).fetchone()
    assert row is not None
    assert row[0] == 4000
    assert "GeoNames" in row[1]
    assert abs(row[2] - 43.03882) < 1e-9 and abs(row[3] - 74.71287) < 1e-9


def test_afghan_tajik_border_is_long(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "SELECT ST_Length(geom::geography) / 1000 FROM borders WHERE code = 'AFG-TJK'"
    ).fetchone()
    assert row is not None
    assert 1000 < row[0] < 1700  # ~1,350 km on the ground
