"""Monthly partitions of ``positions``, created ahead of time by the application.

A fix for a month that has no partition yet lands in ``positions_default`` (never rejected).
Creating a month's partition moves such rows out of the default partition in the same
transaction, because PostgreSQL refuses to attach a partition whose range the default
partition already holds rows for.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"positions_{month:%Y%m}"


def existing_partitions(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'positions'"
    ).fetchall()
    return {r[0] for r in rows}


def ensure_month(conn: psycopg.Connection, month: date) -> bool:
    """Create the partition of ``month`` (moving its rows out of the default); True if made."""
    month = month_start(month)
    name = partition_name(month)
    if name in existing_partitions(conn):
        return False
    lo = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    hi = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    ident = sql.Identifier(name)
    with conn.transaction():
        conn.execute("LOCK TABLE positions_default IN ACCESS EXCLUSIVE MODE")
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (LIKE positions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            ).format(ident)
        )
        moved = conn.execute(
            sql.SQL(
                "WITH moved AS (DELETE FROM positions_default WHERE fix_time >= %s "
                "AND fix_time < %s RETURNING *) INSERT INTO {} SELECT * FROM moved"
            ).format(ident),
            (lo, hi),
        ).rowcount
        conn.execute(
            sql.SQL(
                "ALTER TABLE positions ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})"
            ).format(ident, sql.Literal(lo), sql.Literal(hi))
        )
    log.info("created partition %s (moved %d rows from the default partition)", name, moved)
    return True


def ensure_partitions(
    conn: psycopg.Connection, *, months_ahead: int, around: date | None = None, months_back: int = 1
) -> list[str]:
    """Make the partitions from ``months_back`` before to ``months_ahead`` after ``around``."""
    start = month_start(around or datetime.now(UTC).date())
    made = []
    for k in range(-months_back, months_ahead + 1):
        month = add_months(start, k)
        if ensure_month(conn, month):
            made.append(partition_name(month))
    return made
