"""Seed data for the map's browser tests and bench: agencies, teams with a short recent track,
synthetic incidents, a zone, a Gi* run and a corridor, all inserted with plain INSERTs (the
forced row-level security of migration 0003 refuses COPY, so demo-data's COPY cannot be used).
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from geomon.demo import AGENCIES, demo_incidents
from geomon.model import Position
from geomon.reference import patrol_sites, read_places
from geomon.store.devices import add_device, ensure_agency
from geomon.store.positions import stage_row, write_positions

ROOT = Path(__file__).resolve().parents[2]
PLACES = read_places(ROOT / "data" / "reference" / "places_central_asia.csv")
AGENCY_CODES = [code for code, _ in AGENCIES.values()]


def team_uid(i: int) -> str:
    return f"MAPTEST-{i:03d}"


def seed_teams(
    url: str, n: int, *, track_points: int = 20, silent: int = 1, agency: str | None = None
) -> dict[str, int]:
    """``n`` teams near patrol sites, each with a track of ``track_points`` fixes ending now
    (the last ``silent`` teams' tracks end an hour ago, so they are silent), of ``agency`` or
    of the demo agencies in turn. Returns uid → device id."""
    sites = patrol_sites(PLACES)
    ids: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        for iso, (code, name) in AGENCIES.items():
            ensure_agency(conn, code, name, iso)
        for i in range(n):
            ids[team_uid(i)] = add_device(
                conn,
                uid=team_uid(i),
                kind="serial-gps",
                agency=agency or AGENCY_CODES[i % len(AGENCY_CODES)],
                name=f"Map team {i:03d}",
            ).id
    now = datetime.now(UTC).replace(microsecond=0)
    rows = []
    for i, (uid, device_id) in enumerate(ids.items()):
        site = sites[i % len(sites)]
        end = now - (timedelta(hours=1) if i >= n - silent else timedelta(seconds=5))
        for k in range(track_points):
            ang = 2 * math.pi * (i / max(n, 1)) + k * 0.05
            p = Position(
                uid,
                end - timedelta(seconds=30 * (track_points - 1 - k)),
                site.lat + 0.02 * math.sin(ang) + 0.001 * k,
                site.lon + 0.02 * math.cos(ang),
                speed_mps=8.0 + i % 10,
                course_deg=(i * 37) % 360,
                attrs={"battery": 80 - i % 50} if i % 2 == 0 else {},
            )
            rows.append(stage_row(device_id, p, now))
    asyncio.run(_write(url, rows))
    return ids


async def _write(url: str, rows: list) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await write_positions(conn, rows)
        await conn.commit()


def seed_layers(url: str, *, incidents: int = 5000, agency: str = AGENCY_CODES[0]) -> None:
    """Incidents, one zone, a small Gi* run (all seven bins) and a corridor polygon, all
    owned by ``agency``."""
    with psycopg.connect(url) as conn:
        agency_id = ensure_agency(conn, agency)
        inc = demo_incidents(PLACES, incidents)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO incidents (agency_id, category, quantity, unit, occurred_at, geom, "
                "source) VALUES (%s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
                "'maptest')",
                [
                    (agency_id, i.category, i.quantity, i.unit, i.occurred_at, i.lon, i.lat)
                    for i in inc
                ],
            )
        conn.execute(
            "INSERT INTO zones (agency_id, name, kind, geom) VALUES (%s, 'Test strip', "
            "'border_strip', ST_Multi(ST_MakeEnvelope(69.0, 37.0, 69.6, 37.4, 4326)))",
            (agency_id,),
        )
        run = conn.execute(
            "INSERT INTO hotspot_runs (kind, params, input_filter, crs, agency_id) VALUES "
            "('gistar', '{}', '{}', 'EPSG:32642', %s) RETURNING id",
            (agency_id,),
        ).fetchone()[0]
        for b in range(-3, 4):
            conn.execute(
                "INSERT INTO hotspot_cells (run_id, cell_id, geom, value, z, p, gi_bin) VALUES "
                "(%s, %s, ST_MakeEnvelope(%s, 38.0, %s, 38.3, 4326), %s, %s, 0.01, %s)",
                (run, b + 3, 66.0 + 0.3 * (b + 3), 66.3 + 0.3 * (b + 3), b + 3, b * 1.1, b),
            )
        conn.execute(
            "INSERT INTO corridors (params, geom, total_cost, agency_id) VALUES ('{}', "
            "ST_Multi(ST_Buffer(ST_GeomFromText('LINESTRING(70 39, 71 39.5)', 4326), 0.05)), "
            "123.4, %s)",
            (agency_id,),
        )


def insert_event(
    url: str,
    device_id: int,
    *,
    kind: str = "sensor_alarm",
    severity: str = "critical",
    lat: float = 37.2,
    lon: float = 69.3,
) -> int:
    """An events row as the event engine would write it; returns its id."""
    with psycopg.connect(url) as conn:
        agency = conn.execute(
            "SELECT agency_id FROM devices WHERE id = %s", (device_id,)
        ).fetchone()[0]
        row = conn.execute(
            "INSERT INTO events (agency_id, device_id, kind, severity, occurred_at, geom, attrs) "
            "VALUES (%s, %s, %s, %s, now(), ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s) "
            "RETURNING id",
            (agency, device_id, kind, severity, lon, lat, json.dumps({"test": True})),
        ).fetchone()
        # as the event writers do: notify the live stream inside the transaction
        conn.execute("SELECT pg_notify('geomon_events', %s)", (json.dumps({"events": [row[0]]}),))
        return int(row[0])


def insert_observation(
    url: str, place_name: str, *, agency: str, kind: str = "vehicle_count", value: float = 17.0
) -> None:
    """A BCP sensor of ``agency`` 100 m from the place, with one observation made now."""
    place = next(p for p in PLACES if p.name == place_name)
    with psycopg.connect(url) as conn:
        sensor = add_device(
            conn,
            uid=f"SENSOR-{place_name[:12]}",
            kind="sensor",
            agency=agency,
            name=f"Lane counter {place_name}",
        )
        conn.execute(
            "INSERT INTO observations (sensor_id, observed_at, kind, value, geom) VALUES "
            "(%s, now(), %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (sensor.id, kind, value, place.lon, place.lat + 0.0009),
        )
