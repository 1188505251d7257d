"""Agencies and the device registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from geomon.errors import InvalidRequest, NotFound
from geomon.store.schema import DEVICE_KINDS

# Devices that report before anyone registered them land here when ``accept_unknown`` is on.
UNASSIGNED_AGENCY = "UNASSIGNED"


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    uid: str
    kind: str
    agency_id: int
    name: str


def ensure_agency(
    conn: psycopg.Connection, code: str, name: str | None = None, country: str | None = None
) -> int:
    """The id of the agency ``code``, creating it when missing."""
    row = conn.execute(
        "INSERT INTO agencies (code, name, country) VALUES (%s, %s, %s) "
        "ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id",
        (code, name or code, country),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_device(
    conn: psycopg.Connection,
    *,
    uid: str,
    kind: str,
    agency: str,
    name: str | None = None,
    token_hash: str | None = None,
) -> Device:
    """Register (or update) a device; the agency is created when it does not exist."""
    if kind not in DEVICE_KINDS:
        raise InvalidRequest(f"device kind must be one of {', '.join(DEVICE_KINDS)}, not {kind!r}")
    if not uid.strip():
        raise InvalidRequest("device uid must not be empty")
    agency_id = ensure_agency(conn, agency)
    row = conn.execute(
        "INSERT INTO devices (uid, kind, agency_id, name, token_hash) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (uid) DO UPDATE SET kind = EXCLUDED.kind, agency_id = EXCLUDED.agency_id, "
        "name = EXCLUDED.name, token_hash = COALESCE(EXCLUDED.token_hash, devices.token_hash) "
        "RETURNING id, uid, kind, agency_id, name",
        (uid, kind, agency_id, name or uid, token_hash),
    ).fetchone()
    assert row is not None
    return Device(*row)


async def agency_id_for(conn: psycopg.AsyncConnection, code: str) -> int | None:
    """The id of agency ``code``, or None when there is none."""
    cur = await conn.execute("SELECT id FROM agencies WHERE code = %s", (code,))
    row = await cur.fetchone()
    return None if row is None else int(row[0])


def set_device_token(conn: psycopg.Connection, uid: str, token_hash: str) -> None:
    """Give device ``uid`` a new ingest token (its argon2 hash); the old one stops working."""
    cur = conn.execute("UPDATE devices SET token_hash = %s WHERE uid = %s", (token_hash, uid))
    if cur.rowcount == 0:
        raise NotFound(f"no device {uid!r}")


def find_place(conn: psycopg.Connection, name: str) -> int:
    """A place's id by exact id, name or alternative name (case-insensitive), else prefix."""
    key = name.strip()
    if key.isdigit():
        row = conn.execute("SELECT id FROM places WHERE id = %s", (int(key),)).fetchone()
        if row:
            return int(row[0])
    rows = conn.execute(
        "SELECT id, name FROM places WHERE lower(name) = lower(%(k)s) "
        "OR lower(%(k)s) = ANY(SELECT lower(a) FROM unnest(alt_names) a) ORDER BY id",
        {"k": key},
    ).fetchall()
    if not rows:
        rows = conn.execute(
            "SELECT id, name FROM places WHERE name ILIKE %s ORDER BY id",
            (key.replace("%", r"\%").replace("_", r"\_") + "%",),
        ).fetchall()
    if len(rows) != 1:
        known = "; ".join(r[1] for r in rows[:5])
        raise InvalidRequest(
            f"place {name!r} is {'ambiguous: ' + known if rows else 'not in places'}"
        )
    return int(rows[0][0])


def bind_device(
    conn: psycopg.Connection,
    uid: str,
    *,
    place: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> tuple[int | None, tuple[float, float] | None]:
    """Bind a fixed sensor to a place and/or a point; its observations without a position
    take the point, else the place's. Returns (place_id, (lat, lon)) as stored."""
    if (lat is None) != (lon is None):
        raise InvalidRequest("give both --lat and --lon, or neither")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidRequest(f"position out of range: lat {lat}, lon {lon}")
    place_id = find_place(conn, place) if place else None
    row = conn.execute(
        "UPDATE devices SET place_id = coalesce(%(p)s, place_id), geom = CASE WHEN %(x)s::float8 "
        "IS NULL THEN geom ELSE ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) END "
        "WHERE uid = %(u)s RETURNING place_id, ST_Y(geom), ST_X(geom)",
        {"p": place_id, "x": lon, "y": lat, "u": uid},
    ).fetchone()
    if row is None:
        raise NotFound(f"no device with uid {uid!r}")
    return row[0], (None if row[1] is None else (float(row[1]), float(row[2])))


def get_device(conn: psycopg.Connection, uid: str) -> Device:
    row = conn.execute(
        "SELECT id, uid, kind, agency_id, name FROM devices WHERE uid = %s AND active", (uid,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no active device with uid {uid!r}")
    return Device(*row)


def list_devices(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT d.id, d.uid, d.kind, a.code, d.name, d.active FROM devices d "
        "JOIN agencies a ON a.id = d.agency_id ORDER BY d.id"
    ).fetchall()


async def resolve_device_ids(
    conn: psycopg.AsyncConnection, uids: list[str], *, accept_unknown: bool, kind: str
) -> dict[str, int]:
    """Map device uids to ids; unknown uids are registered only when ``accept_unknown``."""
    cur = await conn.execute("SELECT uid, id FROM devices WHERE uid = ANY(%s) AND active", (uids,))
    found = {uid: int(i) for uid, i in await cur.fetchall()}
    missing = [u for u in uids if u not in found]
    if missing and accept_unknown:
        cur = await conn.execute(
            "WITH a AS (INSERT INTO agencies (code, name) VALUES (%s, %s) "
            "ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id) "
            "INSERT INTO devices (uid, kind, agency_id, name) "
            "SELECT u, %s, (SELECT id FROM a), u FROM unnest(%s::text[]) u "
            "ON CONFLICT (uid) DO UPDATE SET uid = EXCLUDED.uid RETURNING uid, id",
            (UNASSIGNED_AGENCY, "Devices not yet assigned", kind, missing),
        )
        found.update({uid: int(i) for uid, i in await cur.fetchall()})
    return found


async def active_device_token_hash(
    conn: psycopg.AsyncConnection, uid: str
) -> tuple[str | None] | None:
    """``(token_hash,)`` of the active device ``uid``, or None when there is none."""
    cur = await conn.execute("SELECT token_hash FROM devices WHERE uid = %s AND active", (uid,))
    return await cur.fetchone()
