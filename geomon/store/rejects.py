"""``ingest_rejects``: records that made a batch fail, kept with the error for review."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import psycopg

from geomon.model import Observation, Position


def _record_json(record: Position | Observation) -> str:
    d: dict[str, Any] = dataclasses.asdict(record)
    raw = d.pop("raw", None)
    if raw is not None:
        d["raw_hex"] = bytes(raw)[:512].hex()
    # jsonb refuses NUL characters (often the very reason the row failed): make them visible.
    return json.dumps(d, default=str).replace("\\u0000", "\\ufffd")


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
        (protocol, uid, error[:2000], _record_json(record)),
    )
