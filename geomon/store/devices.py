"""Agencies and the device registry."""

from __future__ import annotations

from dataclasses import dataclass

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


def get_device(conn: psycopg.Connection, uid: str) -> Device:
    row = conn.execute(
        "SELECT id, uid, kind, agency_id, name FROM devices WHERE uid = %s AND active", (uid,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no active device with uid {uid!r}")
    return Device(*row)


def list_devices(conn: psycopg.Connection) -> list[tuple]:
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
