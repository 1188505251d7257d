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
    cols = "agency_id, category, quantity, unit, occurred_at, geom, source, attrs"
    # COPY FROM is refused on tables with (forced) row-level security: COPY into a temp
    # table, then one INSERT … SELECT, which the policies check row by row.
    conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS incidents_stage ON COMMIT DELETE ROWS AS "
        f"SELECT {cols} FROM incidents WITH NO DATA"
    )
    with conn.cursor() as cur, cur.copy(f"COPY incidents_stage ({cols}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(
                (
                    agency_ids[r["agency"]],
                    r["category"],
                    r.get("quantity"),
                    r.get("unit"),
                    r["occurred_at"],
                    f"SRID=4326;POINT({r['lon']!r} {r['lat']!r})",
                    source,
                    json.dumps(r.get("attrs") or {}),
                )
            )
    conn.execute(f"INSERT INTO incidents ({cols}) SELECT {cols} FROM incidents_stage")
    conn.execute("TRUNCATE incidents_stage")
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
