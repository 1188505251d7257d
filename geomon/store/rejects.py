"""``ingest_rejects``: records that made a batch fail, kept with the error for review."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import psycopg

from geomon.model import Observation, Position
from geomon.store.storable import storable, text


def _record_json(record: Position | Observation) -> str:
    d: dict[str, Any] = dataclasses.asdict(record)
    raw = d.pop("raw", None)
    if raw is not None:
        d["raw_hex"] = bytes(raw)[:512].hex()
    # the reason the row failed (NUL, NaN, Infinity, a lone surrogate) must not fail this one
    return json.dumps(storable(d), allow_nan=False)


async def insert_reject(
    conn: psycopg.AsyncConnection, record: Position | Observation, error: str
) -> None:
    """Keep ``record`` and why it failed (in the caller's transaction)."""
    if isinstance(record, Position):
        protocol, uid = record.protocol or "unknown", record.device_uid
    else:
        protocol, uid = "sensor", record.sensor_uid
    await conn.execute(
        "INSERT INTO ingest_rejects (protocol, device_uid, error, record) "
        "VALUES (%s, %s, %s, %s::jsonb)",
        (text(protocol), text(uid), text(error[:2000]), _record_json(record)),
    )
