"""``geomon reports trips|stops|summary|blo-weekly``: the reports of docs/reports.md, computed
as a viewer of ``--agency`` (row-level security applies as in the API), written to a file or
standard output."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

import typer

from geomon.cli.common import db_url, fail, parse_utc, reported_errors
from geomon.i18n import available_locales
from geomon.i18n.zones import is_time_zone, time_zone_for
from geomon.reports import service
from geomon.reports.model import Report
from geomon.store import reports as store
from geomon.store.db import async_connect

app = typer.Typer(help="Reports: trips, stops, daily summary, weekly BLO.", no_args_is_help=True)

AGENCY = typer.Option(..., "--agency", help="Compute as a viewer of this agency (RLS).")
FORMAT = typer.Option("html", "--format", "-f", help="html, csv, xlsx or pdf.")
OUT = typer.Option(None, "--out", "-o", help="File to write; default: standard output.")
LANG = typer.Option("ru", "--lang", help="Language of the report (ru, en…).")
TZ = typer.Option(None, "--tz", help="IANA time zone; default: the agency's.")


def _reader(lang: str, tz: str | None, country: str | None) -> service.Reader:
    if lang not in available_locales():
        fail(f"unknown language {lang!r}; accepted: {', '.join(available_locales())}")
    if tz is not None and not is_time_zone(tz):
        fail(f"unknown time zone {tz!r} (an IANA name such as Asia/Bishkek)")
    return service.Reader(lang, time_zone_for(tz, country))


async def _make(agency: str, lang: str, tz: str | None, build: object,
                fmt: str) -> tuple[Report, bytes]:  # fmt: skip
    service.check_format(fmt)
    async with async_connect(db_url()) as conn:
        agency_id, country = await store.agency_by_code(conn, agency)
        await store.set_context(conn, agency_id=agency_id, role="viewer", user="cli")
        reader = _reader(lang, tz, country)
        report: Report = await build(conn, reader)  # type: ignore[operator]
        data = await service.build_and_render(conn, report, fmt)
        await conn.rollback()
    return report, data


def _write(made: tuple[Report, bytes], out: Path | None) -> None:
    report, data = made
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        typer.echo(f"wrote {report.kind} report ({len(data)} bytes) to {out}", err=True)


def _window(start: str, end: str) -> tuple[datetime, datetime]:
    t0, t1 = parse_utc(start), parse_utc(end)
    assert t0 is not None and t1 is not None
    return t0, t1


def _team(kind: str, agency: str, start: str, end: str, device: list[int] | None, fmt: str,
          out: Path | None, lang: str, tz: str | None) -> None:  # fmt: skip
    t0, t1 = _window(start, end)

    async def build(conn: object, reader: service.Reader) -> Report:
        return await service.team(conn, kind, device or None, t0, t1, reader)  # type: ignore[arg-type]

    with reported_errors():
        _write(asyncio.run(_make(agency, lang, tz, build, fmt)), out)


START = typer.Option(..., "--from", help="Start, ISO 8601 (UTC without offset).")
END = typer.Option(..., "--to", help="End (exclusive), ISO 8601.")
DEVICE = typer.Option(None, "--device", help="Device id (repeat); default: all visible.")


@app.command("trips")
def trips(agency: str = AGENCY, start: str = START, end: str = END,
          device: list[int] = DEVICE, fmt: str = FORMAT, out: Path = OUT, lang: str = LANG,
          tz: str = TZ) -> None:  # fmt: skip
    """Trips per device: start/end time and nearest place, distance, duration, speeds."""
    _team("trips", agency, start, end, device, fmt, out, lang, tz)


@app.command("stops")
def stops(agency: str = AGENCY, start: str = START, end: str = END,
          device: list[int] = DEVICE, fmt: str = FORMAT, out: Path = OUT, lang: str = LANG,
          tz: str = TZ) -> None:  # fmt: skip
    """Stops per device: where, from when to when, how long."""
    _team("stops", agency, start, end, device, fmt, out, lang, tz)


@app.command("summary")
def summary(agency: str = AGENCY, start: str = START, end: str = END,
            device: list[int] = DEVICE, fmt: str = FORMAT, out: Path = OUT, lang: str = LANG,
            tz: str = TZ) -> None:  # fmt: skip
    """Per device and local day: distance, time moving and stopped, max speed."""
    _team("summary", agency, start, end, device, fmt, out, lang, tz)


@app.command("blo-weekly")
def blo_weekly(
    agency: str = AGENCY,
    place: str = typer.Option(..., "--place", help="Crossing point: id or name (Dostuk)."),
    week: str = typer.Option(..., "--week", help="ISO week 2026-W49 or a date in it."),
    radius_km: float = typer.Option(25.0, "--radius-km", help="Area around the point."),
    fmt: str = FORMAT,
    out: Path = OUT,
    lang: str = LANG,
    tz: str = TZ,
) -> None:
    """The weekly BLO report of one crossing point, compared with earlier weeks."""

    async def build(conn: object, reader: service.Reader) -> Report:
        return await service.blo_weekly(conn, place, week, reader, radius_km=radius_km)  # type: ignore[arg-type]

    with reported_errors():
        _write(asyncio.run(_make(agency, lang, tz, build, fmt)), out)


def _register_schedules() -> None:
    from geomon.cli import report_schedules

    app.add_typer(report_schedules.app, name="schedule")
    app.command("run-due")(report_schedules.run_due_cmd)
    app.command("scheduler")(report_schedules.scheduler_cmd)


_register_schedules()
