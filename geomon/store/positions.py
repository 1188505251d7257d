"""Writing positions in batches (COPY into a staging table, then one INSERT … ON CONFLICT) and
reading the latest position of each device.

A resent record (same device and fix_time) is absorbed by the primary key and counted; one
whose payload differs from the stored row is counted as a conflict and kept in
``ingest_rejects`` for review, never silently overwritten. ``device_latest`` only moves
forward in fix_time. Committed changes are announced with NOTIFY on ``geomon_live``.
"""

from __future__ import annotations

import json
import struct
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from geomon.model import Position

LIVE_CHANNEL = "geomon_live"

_STAGE_COLUMNS = (
    "device_id, fix_time, received_at, geom, speed_mps, course_deg, altitude_m, hdop, "
    "satellites, valid, protocol, attrs, raw"
)

_CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS positions_stage "
    "(LIKE positions INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)

# One statement (one round trip): insert, flag conflicting resends, move device_latest
# forward and NOTIFY geomon_live with {"devices": [ids]} when some device moved.
_MERGE = f"""
WITH ins AS (
    INSERT INTO positions ({_STAGE_COLUMNS})
    SELECT DISTINCT ON (device_id, fix_time) {_STAGE_COLUMNS} FROM positions_stage
    ORDER BY device_id, fix_time
    ON CONFLICT (device_id, fix_time) DO NOTHING
    RETURNING device_id, fix_time
),
conflicts AS (
    INSERT INTO ingest_rejects (protocol, device_uid, error, record)
    SELECT s.protocol, s.device_id::text, 'conflicting resend: same device and fix_time, '
           'different payload',
           jsonb_build_object('fix_time', s.fix_time, 'lon', ST_X(s.geom), 'lat', ST_Y(s.geom),
                              'speed_mps', s.speed_mps, 'stored_lon', ST_X(p.geom),
                              'stored_lat', ST_Y(p.geom))
    FROM positions_stage s JOIN positions p USING (device_id, fix_time)
    WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.device_id = s.device_id
                      AND ins.fix_time = s.fix_time)
      AND (NOT ST_Equals(s.geom, p.geom) OR s.speed_mps IS DISTINCT FROM p.speed_mps)
    RETURNING 1
),
moved_latest AS (
    INSERT INTO device_latest (device_id, fix_time, received_at, geom, speed_mps, course_deg,
                               altitude_m, valid, attrs)
    SELECT DISTINCT ON (device_id) device_id, fix_time, received_at, geom, speed_mps,
           course_deg, altitude_m, valid, attrs
    FROM positions_stage WHERE device_id IN (SELECT device_id FROM ins) AND valid
    ORDER BY device_id, fix_time DESC
    ON CONFLICT (device_id) DO UPDATE SET
        fix_time = EXCLUDED.fix_time, received_at = EXCLUDED.received_at, geom = EXCLUDED.geom,
        speed_mps = EXCLUDED.speed_mps, course_deg = EXCLUDED.course_deg,
        altitude_m = EXCLUDED.altitude_m, valid = EXCLUDED.valid, attrs = EXCLUDED.attrs
    WHERE EXCLUDED.fix_time > device_latest.fix_time
    RETURNING device_id
),
moved AS (SELECT array_agg(device_id ORDER BY device_id) AS ids FROM moved_latest)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM conflicts), moved.ids,
       CASE WHEN moved.ids IS NOT NULL
            THEN pg_notify('geomon_live', json_build_object('devices', moved.ids)::text) END
FROM moved
"""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a batch did: rows inserted, resends absorbed, resends with a different payload."""

    inserted: int
    duplicates: int
    conflicts: int
    moved_devices: tuple[int, ...] = ()


_EWKB_POINT = struct.Struct("<BIidd")  # little-endian EWKB point with SRID 4326
_EWKB_HEAD = (1, 0x20000001, 4326)
# Binary COPY: no type oids travel, the server reads each field with the column's own binary
# input, so the geometry goes as EWKB bytes and jsonb as version byte 1 + JSON text.
_COPY_TYPES = ("int4", "timestamptz", "timestamptz", "bytea", "float8", "float8", "float8",
               "float8", "int2", "bool", "text", "bytea", "bytea")


try:  # optional speed-up (a third of the COPY row cost); same JSON as json.dumps below
    import orjson

    _ORJSON_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME \
        | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS

    def _attrs_json(attrs: dict[str, Any]) -> bytes:
        try:
            return orjson.dumps(attrs, default=str, option=_ORJSON_OPTS)
        except TypeError:  # e.g. an int beyond 64 bits: let json decide
            return json.dumps(attrs, default=str).encode()
except ImportError:  # pragma: no cover - orjson not installed
    def _attrs_json(attrs: dict[str, Any]) -> bytes:
        return json.dumps(attrs, default=str).encode()


def stage_row(device_id: int, p: Position, received_at: datetime) -> tuple[Any, ...]:
    """One binary COPY row for ``positions_stage`` (column order: ``_STAGE_COLUMNS``)."""
    return (
        device_id, p.fix_time, received_at, _EWKB_POINT.pack(*_EWKB_HEAD, p.lon, p.lat),
        p.speed_mps, p.course_deg, p.altitude_m, p.hdop, p.satellites, p.valid, p.protocol,
        b"\x01" + _attrs_json(p.attrs), p.raw,
    )


# Connections whose session already has the temp staging table (saves a round trip a batch).
_STAGED: weakref.WeakSet[psycopg.AsyncConnection] = weakref.WeakSet()


async def write_positions(conn: psycopg.AsyncConnection,
                          rows: list[tuple[Any, ...]]) -> WriteResult:
    """Write staged rows in the caller's transaction; commit is the caller's (then ack).
    After a failed transaction the caller must not reuse ``conn`` (the temp stage table it
    created may have been rolled back); the batch writer opens a new connection."""
    if conn not in _STAGED:
        await conn.execute(_CREATE_STAGE)
        _STAGED.add(conn)
    async with conn.cursor() as cur:
        async with cur.copy(f"COPY positions_stage ({_STAGE_COLUMNS}) FROM STDIN "
                            "(FORMAT BINARY)") as copy:
            copy.set_types(_COPY_TYPES)
            for row in rows:
                await copy.write_row(row)
        await cur.execute(_MERGE)
        inserted, conflicts, moved_ids, _ = await cur.fetchone()  # type: ignore[misc]
        moved = tuple(moved_ids or ())
    return WriteResult(int(inserted), len(rows) - int(inserted), int(conflicts), moved)


_LATEST_FEATURES = """
SELECT d.id, d.uid, d.name, d.kind, a.code, l.fix_time, l.received_at, ST_X(l.geom), ST_Y(l.geom),
       l.speed_mps, l.course_deg, l.altitude_m, l.valid, l.attrs
FROM device_latest l JOIN devices d ON d.id = l.device_id JOIN agencies a ON a.id = d.agency_id
WHERE (%(ids)s::int[] IS NULL OR d.id = ANY(%(ids)s::int[]))
ORDER BY d.id
"""


async def latest_positions(conn: psycopg.AsyncConnection,
                           device_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Each device's latest fix, as plain dicts (the API turns them into GeoJSON)."""
    cur = await conn.execute(_LATEST_FEATURES, {"ids": device_ids})
    keys = ("device_id", "uid", "name", "kind", "agency", "fix_time", "received_at", "lon",
            "lat", "speed_mps", "course_deg", "altitude_m", "valid", "attrs")
    return [dict(zip(keys, row, strict=True)) for row in await cur.fetchall()]
