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
from geomon.store import pgcopy

LIVE_CHANNEL = "geomon_live"

_STAGE_COLUMNS = (
    "device_id, fix_time, received_at, geom, speed_mps, course_deg, altitude_m, hdop, "
    "satellites, valid, protocol, attrs, raw"
)

# The session's staging table, and no JIT: the merge's row estimates (a temp table has no
# statistics) put it over jit_above_cost, and compiling it cost more than running it
# (EXPLAIN ANALYZE figures in docs/performance.md).
_CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS positions_stage "
    "(LIKE positions INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; SET jit = off"
)

_LATEST_COLUMNS = (
    "fix_time",
    "received_at",
    "geom",
    "speed_mps",
    "course_deg",
    "altitude_m",
    "valid",
    "attrs",
)
_NEWER = "EXCLUDED.fix_time > device_latest.fix_time"

# One statement (one round trip): insert, flag conflicting resends, move device_latest
# forward (and count the device's stored valid fixes there, for the event hook's cache
# check), and NOTIFY geomon_live with {"devices": [ids]} when some device moved.
_MERGE = f"""
WITH ins AS (
    -- in COPY order, no sort: DO NOTHING also skips a key repeated within the batch (the
    -- first row of it is stored)
    INSERT INTO positions ({_STAGE_COLUMNS})
    SELECT {_STAGE_COLUMNS} FROM positions_stage
    ON CONFLICT (device_id, fix_time) DO NOTHING
    RETURNING device_id, fix_time, valid
),
conflicts AS (
    INSERT INTO ingest_rejects (protocol, device_uid, error, record)
    SELECT s.protocol, s.device_id::text, 'conflicting resend: same device and fix_time, '
           'different payload',
           jsonb_build_object('fix_time', s.fix_time, 'lon', ST_X(s.geom), 'lat', ST_Y(s.geom),
                              'speed_mps', s.speed_mps, 'stored_lon', ST_X(p.geom),
                              'stored_lat', ST_Y(p.geom))
    FROM positions_stage s
    -- only the rows the insert skipped, each looked up by key (OFFSET 0 keeps the lateral
    -- from being flattened into a join that scans and sorts all of positions every batch)
    CROSS JOIN LATERAL (SELECT p.geom, p.speed_mps FROM positions p
                        WHERE p.device_id = s.device_id AND p.fix_time = s.fix_time
                        OFFSET 0) p
    WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.device_id = s.device_id
                      AND ins.fix_time = s.fix_time)
      AND (NOT ST_Equals(s.geom, p.geom) OR s.speed_mps IS DISTINCT FROM p.speed_mps)
      -- evaluated once: when every staged row was inserted, the join is not run at all
      AND (SELECT count(*) FROM ins) < (SELECT count(*) FROM positions_stage)
    RETURNING 1
),
counted AS (
    SELECT device_id, count(*) AS n FROM ins WHERE valid GROUP BY device_id
),
before AS (
    SELECT l.device_id, l.fix_time FROM device_latest l JOIN counted USING (device_id)
),
latest AS (
    INSERT INTO device_latest (device_id, {", ".join(_LATEST_COLUMNS)}, valid_fixes)
    SELECT DISTINCT ON (s.device_id) s.device_id, {", ".join("s." + c for c in _LATEST_COLUMNS)},
           c.n
    FROM positions_stage s JOIN counted c USING (device_id)
    WHERE s.valid
    ORDER BY s.device_id, s.fix_time DESC
    ON CONFLICT (device_id) DO UPDATE SET
        {
    ", ".join(
        f"{c} = CASE WHEN {_NEWER} THEN EXCLUDED.{c} ELSE device_latest.{c} END"
        for c in _LATEST_COLUMNS
    )
},
        valid_fixes = device_latest.valid_fixes + EXCLUDED.valid_fixes
    RETURNING device_id, fix_time
),
moved AS (
    SELECT array_agg(l.device_id ORDER BY l.device_id) AS ids
    FROM latest l LEFT JOIN before b USING (device_id)
    WHERE b.fix_time IS NULL OR l.fix_time > b.fix_time
)
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


# The fixed head of a binary COPY row of positions_stage (geomon.store.pgcopy): 13 fields;
# device_id int4; fix_time and received_at timestamptz; geom as big-endian EWKB (byte order
# 0, point type with the SRID flag, SRID 4326, x, y), which geometry's binary input reads.
_ROW_HEAD = struct.Struct(">h ii iq iq iBIidd")
_N_FIELDS = 13
_EWKB_POINT_SRID = 0x20000001
_PROTOCOL_TEXT: dict[str, bytes] = {}


try:  # optional speed-up (~10x json.dumps on attrs); same JSON as json.dumps below
    import orjson

    _ORJSON_OPTS = (
        orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )

    def _attrs_json(attrs: dict[str, Any]) -> bytes:
        try:  # without OPT_NON_STR_KEYS first: that option is slower, and decoders use str
            return orjson.dumps(attrs, default=str, option=_ORJSON_OPTS)
        except TypeError:  # a non-str key, or e.g. an int beyond 64 bits: let json decide
            return json.dumps(attrs, default=str).encode()
except ImportError:  # pragma: no cover - orjson not installed

    def _attrs_json(attrs: dict[str, Any]) -> bytes:
        return json.dumps(attrs, default=str).encode()


def stage_row(device_id: int, p: Position, received_at: datetime) -> bytes:
    """One binary COPY row for ``positions_stage`` (column order: ``_STAGE_COLUMNS``).
    ValueError for a value the column types cannot hold (e.g. satellites beyond int2)."""
    protocol = _PROTOCOL_TEXT.get(p.protocol)
    if protocol is None:
        protocol = _PROTOCOL_TEXT.setdefault(p.protocol, pgcopy.varlena(p.protocol.encode()))
    try:
        return b"".join(
            (
                _ROW_HEAD.pack(
                    _N_FIELDS,
                    4,
                    device_id,
                    8,
                    pgcopy.timestamptz_us(p.fix_time),
                    8,
                    pgcopy.timestamptz_us(received_at),
                    25,
                    0,
                    _EWKB_POINT_SRID,
                    4326,
                    p.lon,
                    p.lat,
                ),
                pgcopy.float8(p.speed_mps),
                pgcopy.float8(p.course_deg),
                pgcopy.float8(p.altitude_m),
                pgcopy.float8(p.hdop),
                pgcopy.int2(p.satellites),
                pgcopy.boolean(p.valid),
                protocol,
                pgcopy.varlena(b"\x01" + _attrs_json(p.attrs)),  # jsonb: version 1, then text
                pgcopy.varlena(p.raw),
            )
        )
    except struct.error as exc:
        raise ValueError(
            f"position of {p.device_uid} at {p.fix_time.isoformat()} does not "
            f"fit the positions columns: {exc}"
        ) from exc


def row_key(row: bytes) -> tuple[int, datetime]:
    """(device_id, fix_time) of a :func:`stage_row` row."""
    _, _, device_id, _, us = _ROW_KEY.unpack_from(row)
    return device_id, pgcopy.from_timestamptz_us(us)


_ROW_KEY = struct.Struct(">h ii iq")

# Connections whose session already has the temp staging table (saves a round trip a batch).
_STAGED: weakref.WeakSet[psycopg.AsyncConnection] = weakref.WeakSet()


async def write_positions(conn: psycopg.AsyncConnection, rows: list[bytes]) -> WriteResult:
    """Write staged rows in the caller's transaction; commit is the caller's (then ack).
    After a failed transaction the caller must not reuse ``conn`` (the temp stage table it
    created may have been rolled back); the batch writer opens a new connection."""
    if conn not in _STAGED:
        await conn.execute(_CREATE_STAGE)
        _STAGED.add(conn)
    async with conn.cursor() as cur:
        async with cur.copy(
            f"COPY positions_stage ({_STAGE_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            await copy.write(b"".join((pgcopy.HEADER, *rows, pgcopy.TRAILER)))
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


async def latest_positions(
    conn: psycopg.AsyncConnection, device_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Each device's latest fix, as plain dicts (the API turns them into GeoJSON)."""
    cur = await conn.execute(_LATEST_FEATURES, {"ids": device_ids})
    keys = (
        "device_id",
        "uid",
        "name",
        "kind",
        "agency",
        "fix_time",
        "received_at",
        "lon",
        "lat",
        "speed_mps",
        "course_deg",
        "altitude_m",
        "valid",
        "attrs",
    )
    return [dict(zip(keys, row, strict=True)) for row in await cur.fetchall()]
