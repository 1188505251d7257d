"""Running scheduled reports: claim the due schedules, make each report as a viewer of the
schedule's agency (row-level security as for a person), write the files to the folder and
send them by e-mail and webhook where configured, and record the run.

A schedule whose due time passed while no scheduler ran is run once, for the period before
that due time, and then moves to its next due time after now (no burst of catch-up runs)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from geomon.errors import GeomonError
from geomon.i18n import translator
from geomon.reports import delivery, service
from geomon.reports.fmt import Formatter
from geomon.reports.model import Report
from geomon.reports.schedule import Period, next_due, period_for
from geomon.settings import ReportSettings
from geomon.store import report_schedules as store
from geomon.store import reports as report_store
from geomon.store.db import async_connect

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    schedule: str
    run_id: int
    files: list[str] = field(default_factory=list)
    delivered: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


async def _report(conn: psycopg.AsyncConnection, s: dict[str, Any], period: Period) -> Report:
    reader = service.Reader(s["locale"], s["time_zone"])
    p = s["params"]
    if s["kind"] == "blo-weekly":
        return await service.blo_weekly(conn, str(p["place"]), period.week, reader,
                                        radius_km=float(p.get("radius_km", 25)))  # fmt: skip
    devices = [int(d) for d in p.get("devices", [])] or None
    return await service.team(conn, s["kind"], devices, period.start, period.end, reader)


def _label(s: dict[str, Any], period: Period) -> str:
    weekly = s["kind"] == "blo-weekly" or s["params"].get("period") == "week"
    if weekly:
        return period.week
    return Formatter("en", s["time_zone"]).local(period.start).date().isoformat()


async def _files(conn: psycopg.AsyncConnection, s: dict[str, Any], period: Period,
                 report: Report) -> list[delivery.ReportFile]:  # fmt: skip
    stem = f"{delivery.safe_name(s['name'])}-{_label(s, period)}"
    out = []
    for fmt in s["formats"]:
        data = await service.build_and_render(conn, report, fmt)
        media, ext = service.FORMATS[fmt]
        out.append(delivery.ReportFile(f"{stem}.{ext}", media, data))
    return out


Delivered = tuple[list[str], dict[str, Any], list[str]]


def _deliver(settings: ReportSettings, s: dict[str, Any], period: Period, report: Report,
             files: list[delivery.ReportFile]) -> Delivered:  # fmt: skip
    """Folder, e-mail, webhook; each failure is noted and the others still go."""
    folder = settings.out_dir / delivery.safe_name(s["agency"]) / delivery.safe_name(s["name"])
    written = delivery.write_files(Path(folder), files)
    done: dict[str, Any] = {"folder": str(folder)}
    errors: list[str] = []
    _ = translator(s["locale"])
    fmt = Formatter(s["locale"], s["time_zone"])
    span = _("{start} – {end}", start=fmt.date(fmt.local(period.start).date()),
             end=fmt.date(fmt.local(period.end - timedelta(seconds=1)).date()))  # fmt: skip
    if s["email_to"]:
        body = _("The report “{title}” for {period} is attached.", title=report.title,
                 period=span)  # fmt: skip
        try:
            subject = f"{report.title} ({span})"
            done["email"] = delivery.send_email(settings, list(s["email_to"]), subject, body, files)
        except (OSError, GeomonError) as exc:
            errors.append(f"e-mail: {exc}")
    if s["webhook_url"]:
        meta = {"schedule": s["name"], "agency": s["agency"], "kind": s["kind"],
                "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
                "title": report.title}  # fmt: skip
        try:
            done["webhook"] = delivery.post_webhook(settings, s["webhook_url"], meta, files)
        except Exception as exc:  # httpx errors, refused connections: recorded, not raised
            errors.append(f"webhook: {exc}")
    return written, done, errors


async def _run_one(conn: psycopg.AsyncConnection, settings: ReportSettings,
                   s: dict[str, Any], period: Period, run_id: int) -> RunResult:  # fmt: skip
    result = RunResult(s["name"], run_id)
    try:
        async with conn.transaction():
            await report_store.set_context(conn, agency_id=s["agency_id"], role="viewer",
                                           user=f"schedule:{s['name']}")  # fmt: skip
            report = await _report(conn, s, period)
            files = await _files(conn, s, period, report)
        written, done, errors = await asyncio.to_thread(_deliver, settings, s, period, report,
                                                        files)  # fmt: skip
        result.files, result.delivered = written, done
        result.error = "; ".join(errors) or None
    except (GeomonError, OSError, psycopg.Error) as exc:
        result.error = str(exc)
    async with conn.transaction():
        await store.finish_run(conn, run_id, files=result.files, delivered=result.delivered,
                               error=result.error)  # fmt: skip
    if result.error:
        log.warning("scheduled report %s (run %s) failed: %s", s["name"], run_id, result.error)
    return result


async def run_due(url: str, settings: ReportSettings, now: datetime) -> list[RunResult]:
    """Run every schedule due at ``now``; returns what each run did."""
    async with async_connect(url) as conn:
        claimed = []
        async with conn.transaction():
            for s in await store.claim_due(conn, now):
                due = s["next_run_at"]
                period = period_for(s["kind"], s["params"], due, s["time_zone"])
                nxt = next_due(s["cron"], s["time_zone"], max(now, due))
                run_id = await store.start_run(conn, s, next_run_at=nxt,
                                               period=(period.start, period.end))  # fmt: skip
                if run_id is not None:
                    claimed.append((s, period, run_id))
        return [await _run_one(conn, settings, s, p, run_id) for s, p, run_id in claimed]
