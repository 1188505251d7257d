"""Scheduled reports: the schedules and their runs (migration 0033). The scheduler claims due
schedules with ``FOR UPDATE SKIP LOCKED`` and records one run per (schedule, due time) —
unique — so two schedulers never make the same run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geomon.errors import Conflict, NotFound

_COLS = ("id", "agency_id", "agency", "country", "name", "kind", "params", "formats", "cron",
         "time_zone", "locale", "email_to", "webhook_url", "active", "next_run_at",
         "last_run_at")  # fmt: skip
_SELECT = (
    "SELECT s.id, s.agency_id, a.code, a.country, s.name, s.kind, s.params, s.formats, s.cron, "
    "s.time_zone, s.locale, s.email_to, s.webhook_url, s.active, s.next_run_at, s.last_run_at "
    "FROM report_schedules s JOIN agencies a ON a.id = s.agency_id"
)


async def add_schedule(conn: psycopg.AsyncConnection, **s: Any) -> int:
    try:
        cur = await conn.execute(
            "INSERT INTO report_schedules (agency_id, name, kind, params, formats, cron, "
            "time_zone, locale, email_to, webhook_url, next_run_at, created_by) VALUES "
            "(%(agency_id)s, %(name)s, %(kind)s, %(params)s, %(formats)s, %(cron)s, "
            "%(time_zone)s, %(locale)s, %(email_to)s, %(webhook_url)s, %(next_run_at)s, "
            "%(created_by)s) RETURNING id",
            {**s, "params": Jsonb(s["params"])},
        )
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"a schedule named {s['name']!r} exists already") from None
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def list_schedules(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    cur = await conn.execute(_SELECT + " ORDER BY s.agency_id, s.name")
    return [dict(zip(_COLS, r, strict=True)) for r in await cur.fetchall()]


async def remove_schedule(conn: psycopg.AsyncConnection, agency_id: int, name: str) -> None:
    cur = await conn.execute(
        "DELETE FROM report_schedules WHERE agency_id = %s AND name = %s", (agency_id, name)
    )
    if cur.rowcount == 0:
        raise NotFound(f"no schedule {name!r}")


async def claim_due(
    conn: psycopg.AsyncConnection, now: datetime, limit: int = 20
) -> list[dict[str, Any]]:
    """Active schedules due at ``now``, locked for this transaction (others skip them)."""
    cur = await conn.execute(
        _SELECT + " WHERE s.active AND s.next_run_at <= %s ORDER BY s.next_run_at "
        "LIMIT %s FOR UPDATE OF s SKIP LOCKED",
        (now, limit),
    )
    return [dict(zip(_COLS, r, strict=True)) for r in await cur.fetchall()]


async def start_run(
    conn: psycopg.AsyncConnection,
    schedule: dict[str, Any],
    *,
    next_run_at: datetime,
    period: tuple[datetime, datetime],
) -> int | None:
    """Record the run of ``schedule`` at its due time and move it to ``next_run_at``; None
    when that due time was run already."""
    await conn.execute(
        "UPDATE report_schedules SET next_run_at = %s, last_run_at = %s WHERE id = %s",
        (next_run_at, schedule["next_run_at"], schedule["id"]),
    )
    cur = await conn.execute(
        "INSERT INTO report_runs (schedule_id, agency_id, due_at, period_start, period_end) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (schedule_id, due_at) DO NOTHING RETURNING id",
        (schedule["id"], schedule["agency_id"], schedule["next_run_at"], *period),
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def finish_run(
    conn: psycopg.AsyncConnection,
    run_id: int,
    *,
    files: list[str],
    delivered: dict[str, Any],
    error: str | None,
) -> None:
    await conn.execute(
        "UPDATE report_runs SET finished_at = now(), status = %s, files = %s, delivered = %s, "
        "error = %s WHERE id = %s",
        ("failed" if error else "done", files, Jsonb(delivered), error, run_id),
    )


_RUN_COLS = ("id", "schedule_id", "due_at", "status", "period_start", "period_end", "files",
             "delivered", "error")  # fmt: skip


async def runs(conn: psycopg.AsyncConnection, schedule_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {', '.join(_RUN_COLS)} FROM report_runs WHERE schedule_id = %s ORDER BY id",
        (schedule_id,),
    )
    return [dict(zip(_RUN_COLS, r, strict=True)) for r in await cur.fetchall()]
