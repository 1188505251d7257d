"""One row of every agency-owned kind for an agency, marked with a canary string.

Access-control tests look for the canary (and the canary coordinates) in whatever another
agency can read: any leak of a row carries its text or its position.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from geomon.store.devices import add_device, ensure_agency

# Each agency's canary point sits in its own place, so a leaked geometry is recognisable too.
_ORIGINS = {0: (71.1234, 39.4321), 1: (73.5678, 41.8765)}


@dataclass
class AgencyData:
    code: str
    canary: str
    agency_id: int
    lon: float
    lat: float
    ids: dict[str, int] = field(default_factory=dict)
    device_uid: str = ""


def seed_agency(conn: psycopg.Connection, slot: int = 0, prefix: str = "ACL") -> AgencyData:
    """A new agency with a device (a day of fixes + latest), an observation, an incident, a
    zone, an event, a hotspot run with cells, a surface and a corridor. Commits."""
    tag = uuid.uuid4().hex[:8]
    code, canary = f"{prefix}-{tag}".upper(), f"canary{tag}"
    lon, lat = _ORIGINS[slot % 2]
    d = AgencyData(code, canary, ensure_agency(conn, code, name=f"agency {canary}"), lon, lat)
    dev = add_device(conn, uid=f"{canary}-dev", kind="tracker", agency=code, name=f"{canary} car")
    d.device_uid, d.ids["device"] = dev.uid, dev.id
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    pt = "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)"
    args = {"d": dev.id, "t": t0, "x": lon, "y": lat, "a": d.agency_id, "c": canary}
    conn.execute(
        "INSERT INTO positions (device_id, fix_time, geom, speed_mps, valid) "
        f"SELECT %(d)s, %(t)s + g * interval '1 minute', {pt}, 5, true "
        "FROM generate_series(0, 9) g",
        args,
    )
    conn.execute(
        "INSERT INTO device_latest (device_id, fix_time, received_at, geom, valid) "
        f"VALUES (%(d)s, %(t)s + interval '9 minutes', now(), {pt}, true)",
        args,
    )
    d.ids["observation"] = _id(
        conn,
        "INSERT INTO observations (sensor_id, observed_at, kind, "
        f"value, text, geom) VALUES (%(d)s, %(t)s, 'plate', 1, %(c)s, "
        f"{pt}) RETURNING id",
        args,
    )
    d.ids["incident"] = _id(
        conn,
        "INSERT INTO incidents (agency_id, category, occurred_at, geom, "
        f"source) VALUES (%(a)s, 'seizure', %(t)s, {pt}, %(c)s) RETURNING id",
        args,
    )
    d.ids["zone"] = _id(
        conn,
        "INSERT INTO zones (agency_id, name, kind, geom) VALUES (%(a)s, "
        "%(c)s, 'restricted', ST_Multi(ST_Buffer(" + pt + ", 0.01))) RETURNING id",
        args,
    )
    d.ids["event"] = _id(
        conn,
        "INSERT INTO events (agency_id, device_id, zone_id, kind, "
        f"occurred_at, geom, note) VALUES (%(a)s, %(d)s, {d.ids['zone']}, "
        f"'zone_enter', %(t)s, {pt}, %(c)s) RETURNING id",
        args,
    )
    d.ids["hotspot_run"] = _id(
        conn,
        "INSERT INTO hotspot_runs (kind, params, input_filter, crs, "
        "agency_id, created_by) VALUES ('gistar', jsonb_build_object("
        "'canary', %(c)s::text), '{}', 'EPSG:4326', %(a)s, %(c)s) "
        "RETURNING id",
        args,
    )
    conn.execute(
        "INSERT INTO hotspot_cells (run_id, cell_id, geom, value, z, p, gi_bin, "
        f"category) VALUES ({d.ids['hotspot_run']}, 1, ST_Buffer({pt}, 0.01), 1, 3, "
        "0.001, 3, %(c)s)",
        args,
    )
    d.ids["surface"] = _id(
        conn,
        "INSERT INTO surfaces (kind, name, path, crs, params, "
        "agency_id) VALUES ('kde', %(c)s, '/nonexistent.tif', 'EPSG:4326', "
        "'{}', %(a)s) RETURNING id",
        args,
    )
    d.ids["corridor"] = _id(
        conn,
        "INSERT INTO corridors (surface_id, params, geom, agency_id, "
        f"created_by) VALUES ({d.ids['surface']}, '{{}}', "
        f"ST_Multi(ST_Buffer({pt}, 0.02)), %(a)s, %(c)s) RETURNING id",
        args,
    )
    conn.commit()
    return d


def _id(conn: psycopg.Connection, query: str, args: dict) -> int:
    row = conn.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])
