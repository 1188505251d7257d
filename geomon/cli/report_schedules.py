"""``geomon reports schedule add|list|remove`` and ``geomon reports run-due|scheduler``:
reports made on a cron schedule, written to ``GEOMON_REPORTS__OUT_DIR`` and sent by e-mail
(``GEOMON_REPORTS__SMTP_*``) and webhook (docs/reports.md)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import typer

from geomon.cli.common import db_url, parse_utc, reported_errors, settings
from geomon.reports import schedule as rules
from geomon.reports.scheduler import run_due
from geomon.store import report_schedules as store
from geomon.store import reports as report_store
from geomon.store.db import async_connect

app = typer.Typer(help="Scheduled reports.", no_args_is_help=True)


async def _add(agency: str, fields: dict[str, Any]) -> int:
    async with async_connect(db_url()) as conn:
        agency_id, _country = await report_store.agency_by_code(conn, agency)
        sid = await store.add_schedule(conn, agency_id=agency_id, **fields)
        await conn.commit()
    return sid


@app.command("add")
def add(
    agency: str = typer.Option(..., "--agency", help="The agency whose view the report has."),
    name: str = typer.Option(..., "--name", help="Name, unique per agency (file names)."),
    kind: str = typer.Option(..., "--kind", help="trips, stops, summary or blo-weekly."),
    cron: str = typer.Option(..., "--cron", help="Five fields in --tz, e.g. '0 7 * * 1'."),
    tz: str = typer.Option("Asia/Bishkek", "--tz", help="IANA zone of the cron and the report."),
    lang: str = typer.Option("ru", "--lang", help="Language of the report."),
    fmt: list[str] = typer.Option(["pdf"], "--format", "-f", help="html, csv, xlsx, pdf (repeat)."),
    place: str = typer.Option(None, "--place", help="blo-weekly: the crossing point."),
    radius_km: float = typer.Option(25.0, "--radius-km", help="blo-weekly: the area."),
    device: list[int] = typer.Option(None, "--device", help="Team reports: device ids."),
    period: str = typer.Option("day", "--period", help="Team reports: day or week before."),
    email: list[str] = typer.Option(None, "--email", help="Recipient (repeat)."),
    webhook: str = typer.Option("", "--webhook", help="URL receiving a multipart POST."),
) -> None:
    """Add a schedule; prints its id and first due time."""
    params: dict[str, Any] = {"period": period}
    if kind == "blo-weekly":
        params = {"place": place, "radius_km": radius_km}
    elif device:
        params["devices"] = list(device)
    with reported_errors():
        rules.check_schedule(kind, cron, tz, list(fmt), params, lang)
        first = rules.next_due(cron, tz, datetime.now(UTC))
        sid = asyncio.run(_add(agency, dict(
            name=name, kind=kind, params=params, formats=list(fmt), cron=cron, time_zone=tz,
            locale=lang, email_to=list(email or []), webhook_url=webhook, next_run_at=first,
            created_by="cli")))  # fmt: skip
    typer.echo(f"schedule {sid} {name}: first run {first.isoformat()}")


async def _list() -> list[dict[str, Any]]:
    async with async_connect(db_url()) as conn:
        return await store.list_schedules(conn)


@app.command("list")
def list_cmd() -> None:
    """Every schedule as one JSON object per line."""
    with reported_errors():
        for s in asyncio.run(_list()):
            typer.echo(json.dumps(s, default=str, ensure_ascii=False))


async def _remove(agency: str, name: str) -> None:
    async with async_connect(db_url()) as conn:
        agency_id, _c = await report_store.agency_by_code(conn, agency)
        await store.remove_schedule(conn, agency_id, name)
        await conn.commit()


@app.command("remove")
def remove(
    agency: str = typer.Option(..., "--agency"), name: str = typer.Option(..., "--name")
) -> None:
    """Delete a schedule and its run history."""
    with reported_errors():
        asyncio.run(_remove(agency, name))
    typer.echo(f"removed {name}")


def _print(results: list[Any]) -> None:
    for r in results:
        state = f"failed: {r.error}" if r.error else "done"
        typer.echo(f"run {r.run_id} {r.schedule}: {state}; files {', '.join(r.files) or '-'}")


def run_due_cmd(
    now: str = typer.Option(None, "--now", help="Pretend it is this time (ISO 8601)."),
) -> None:
    """Run the schedules that are due, once."""
    at = parse_utc(now) or datetime.now(UTC)
    with reported_errors():
        _print(asyncio.run(run_due(db_url(), settings().reports, at)))


def scheduler_cmd(
    every: float = typer.Option(60.0, "--every", min=5, help="Seconds between checks."),
) -> None:
    """Check for due schedules every --every seconds until stopped."""
    with reported_errors():
        while True:
            _print(asyncio.run(run_due(db_url(), settings().reports, datetime.now(UTC))))
            time.sleep(every)
