"""Seeded layers for the API tests (OGC, tiles, live, REST): two agencies, devices with a day
of fixes, incidents, zones, events, observations, a hotspot run and a corridor set."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.store.devices import add_device, ensure_agency

DAY = datetime(2026, 11, 20, tzinfo=UTC)
N_INCIDENTS = 25


@dataclass
class Seed:
    agency_a: int
    agency_b: int
    devices: dict[str, int] = field(default_factory=dict)
    hotspot_run: int = 0
    surface_id: int = 0


def _positions(conn: psycopg.Connection, device_id: int, lon0: float, lat0: float) -> None:
    conn.execute(
        "INSERT INTO positions (device_id, fix_time, geom, speed_mps, valid) "
        "SELECT %(d)s, %(t)s + g * interval '10 minutes', "
        "ST_SetSRID(ST_MakePoint(%(x)s + g * 0.01, %(y)s + g * 0.005), 4326), 10, true "
        "FROM generate_series(0, 95) g",  # 16:00-23:50 on DAY, then 00:00-07:50
        {"d": device_id, "t": DAY + timedelta(hours=16), "x": lon0, "y": lat0},
    )
    conn.execute(
        "INSERT INTO device_latest (device_id, fix_time, received_at, geom, speed_mps, valid) "
        "SELECT device_id, fix_time, received_at, geom, speed_mps, valid FROM positions "
        "WHERE device_id = %s ORDER BY fix_time DESC LIMIT 1",
        (device_id,),
    )


def seed_layers(conn: psycopg.Connection) -> Seed:
    s = Seed(ensure_agency(conn, "KGZ-BS"), ensure_agency(conn, "TJK-BS"))
    for uid, agency, lon, lat in (
        ("kg-1", "KGZ-BS", 74.5, 42.8),
        ("kg-2", "KGZ-BS", 73.0, 40.5),
        ("tj-1", "TJK-BS", 69.0, 38.5),
    ):
        dev = add_device(conn, uid=uid, kind="tracker", agency=agency)
        s.devices[uid] = dev.id
        _positions(conn, dev.id, lon, lat)
    conn.cursor().executemany(  # not COPY: COPY FROM is refused under row-level security
        "INSERT INTO incidents (agency_id, category, quantity, unit, occurred_at, geom, source) "
        "VALUES (%s, 'seizure', %s, 'kg', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'test')",
        [
            (
                s.agency_a if i % 5 else s.agency_b,
                i,
                DAY + timedelta(days=i),
                70 + i * 0.2,
                38 + i * 0.2,
            )
            for i in range(N_INCIDENTS)
        ],
    )
    conn.execute(
        "INSERT INTO zones (agency_id, name, kind, geom) VALUES "
        "(%s, 'Dordoi strip', 'border_strip', ST_Multi(ST_MakeEnvelope(74, 42, 75, 43, 4326))), "
        "(%s, 'Panj strip', 'border_strip', ST_Multi(ST_MakeEnvelope(68, 37, 69, 38, 4326)))",
        (s.agency_a, s.agency_b),
    )
    conn.execute(
        "INSERT INTO events (agency_id, device_id, kind, occurred_at, geom) VALUES "
        "(%s, %s, 'zone_enter', %s, ST_SetSRID(ST_MakePoint(74.6, 42.85), 4326))",
        (s.agency_a, s.devices["kg-1"], DAY + timedelta(hours=17)),
    )
    conn.execute(
        "INSERT INTO observations (sensor_id, observed_at, kind, value, geom) VALUES "
        "(%s, %s, 'vehicle_count', 12, ST_SetSRID(ST_MakePoint(74.55, 42.81), 4326))",
        (s.devices["kg-1"], DAY + timedelta(hours=18)),
    )
    s.hotspot_run = conn.execute(
        "INSERT INTO hotspot_runs (kind, params, input_filter, crs, agency_id) "
        "VALUES ('gistar', '{}', '{}', 'EPSG:32643', %s) RETURNING id",
        (s.agency_a,),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO hotspot_cells (run_id, cell_id, geom, value, z, p, gi_bin, gi_bin_fdr) "
        "SELECT %s, g, ST_MakeEnvelope(74 + g * 0.1, 42, 74.1 + g * 0.1, 42.1, 4326), g, "
        "g - 5.0, 0.05, (CASE WHEN g > 7 THEN 3 ELSE 0 END), 0 FROM generate_series(0, 11) g",
        (s.hotspot_run,),
    )
    s.surface_id = conn.execute(
        "INSERT INTO surfaces (kind, name, path, crs, params, agency_id) "
        "VALUES ('risk', 'seed', '/nonexistent.tif', 'EPSG:4326', '{}', %s) RETURNING id",
        (s.agency_a,),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO corridors (surface_id, rank, params, geom, agency_id) VALUES "
        "(%s, 1, '{}', ST_Multi(ST_MakeEnvelope(74, 42, 74.5, 42.5, 4326)), %s)",
        (s.surface_id, s.agency_a),
    )
    conn.commit()
    return s


@pytest.fixture(scope="session")
def seed(db_url: str) -> Seed:
    with psycopg.connect(db_url) as conn:
        return seed_layers(conn)


def make_token(db_url: str, *, role: str = "admin", agency: str | None = "KGZ-BS") -> str:
    """A user of ``role`` in ``agency`` and an API token for them (tests/helpers/auth.py when it
    exists, else the store functions it wraps)."""
    try:
        helper = importlib.import_module("tests.helpers.auth")
        return str(helper.make_user(db_url, role=role, agency=agency)[2])
    except (ImportError, AttributeError):
        pass
    from geomon.credentials import USER_TOKEN_PREFIX, hash_password, new_token, token_digest
    from geomon.store.users import create_token, create_user

    name, token = f"t-{uuid.uuid4().hex[:8]}", new_token(USER_TOKEN_PREFIX)
    with psycopg.connect(db_url) as conn:
        create_user(
            conn, name=name, password_hash=hash_password("x" * 20), role=role, agency=agency
        )
        create_token(conn, digest=token_digest(token), ttl=timedelta(days=1), user=name)
    return token


def auth_headers(
    db_url: str, *, role: str = "admin", agency: str | None = "KGZ-BS"
) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db_url, role=role, agency=agency)}"}


def analyst_client(db_url: str) -> Iterator[TestClient]:
    """A TestClient of the app on ``db_url`` with an analyst of KGZ-BS signed in."""
    app = create_app(Settings(db=DbSettings(url=db_url)))
    with TestClient(app) as c:
        c.headers.update(auth_headers(db_url, role="analyst"))
        yield c


@pytest.fixture(scope="session")
def client(db_url: str, seed: Seed) -> Iterator[TestClient]:
    yield from analyst_client(db_url)
