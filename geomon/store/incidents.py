"""Incidents (seizures, detentions, detections): bulk writes with COPY, and reads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg

from geomon.store.devices import ensure_agency


def copy_incidents(conn: psycopg.Connection, rows: list[dict[str, Any]], *, source: str) -> int:
    """Insert incidents with one COPY. Each row: agency (code), category, quantity, unit,
    occurred_at, lat, lon, attrs (optional)."""
    agency_ids = {code: ensure_agency(conn, code) for code in {r["agency"] for r in rows}}
    with conn.cursor() as cur, cur.copy(
        "COPY incidents (agency_id, category, quantity, unit, occurred_at, geom, source, attrs) "
        "FROM STDIN"
    ) as copy:
        for r in rows:
            copy.write_row((
                agency_ids[r["agency"]], r["category"], r.get("quantity"), r.get("unit"),
                r["occurred_at"], f"SRID=4326;POINT({r['lon']!r} {r['lat']!r})", source,
                json.dumps(r.get("attrs") or {}),
            ))
    return len(rows)


def delete_incidents_from(conn: psycopg.Connection, source: str) -> int:
    return conn.execute("DELETE FROM incidents WHERE source = %s", (source,)).rowcount


def count_incidents(conn: psycopg.Connection, *, since: datetime | None = None) -> int:
    row = conn.execute(
        "SELECT count(*) FROM incidents WHERE %(s)s::timestamptz IS NULL OR occurred_at >= %(s)s",
        {"s": since},
    ).fetchone()
    assert row is not None
    return int(row[0])
