"""Reports from the database: load through geomon.store.reports (under the caller's row-level
security), compute with the pure engine, render in the asked format. Shared by the API, the
CLI and the scheduler, so the three give the same figures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from geomon.errors import InvalidRequest
from geomon.reports import motion
from geomon.reports.blo import BloInputs, Week, blo_report
from geomon.reports.model import Report
from geomon.reports.team import DeviceFixes, Window, team_report
from geomon.store import reports as store

MAX_WINDOW = timedelta(days=31)
MAX_DEVICES = 200
FORMATS = {
    "html": ("text/html; charset=utf-8", "html"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
}
KINDS = ("trips", "stops", "summary", "blo-weekly")


@dataclass(frozen=True)
class Reader:
    """Who reads the report: language and IANA time zone."""

    locale: str
    time_zone: str


def check_window(start: datetime, end: datetime) -> Window:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequest("the start and end of the window need a UTC offset (RFC 3339)")
    if end <= start:
        raise InvalidRequest("the end of the window must be after its start")
    if end - start > MAX_WINDOW:
        raise InvalidRequest(f"the window may span at most {MAX_WINDOW.days} days")
    return Window(start, end)


async def team(
    conn: psycopg.AsyncConnection,
    kind: str,
    device_ids: list[int] | None,
    start: datetime,
    end: datetime,
    reader: Reader,
    params: motion.MotionParams = motion.MotionParams(),
) -> Report:
    """Trips, stops or the daily summary of the visible devices (or those asked for)."""
    if kind not in ("trips", "stops", "summary"):
        raise InvalidRequest(f"unknown team report {kind!r}; accepted: trips, stops, summary")
    window = check_window(start, end)
    devices = await store.devices(conn, device_ids)
    if len(devices) > MAX_DEVICES:
        raise InvalidRequest(f"{len(devices)} devices: ask for at most {MAX_DEVICES} (device=…)")
    data = []
    for d in devices:
        arrays = await store.fix_arrays(conn, d["id"], window.start, window.end)
        data.append(DeviceFixes(d, motion.Fixes.of(*arrays)))
    places = await store.places(conn)
    return team_report(kind, data, places, window, locale=reader.locale,
                       time_zone=reader.time_zone, params=params)  # fmt: skip


async def blo_weekly(
    conn: psycopg.AsyncConnection,
    place: str,
    week: str,
    reader: Reader,
    *,
    radius_km: float = 25.0,
    cell_m: float = 1000.0,
) -> Report:
    """The weekly BLO report of ``place`` (id or name) for ``week`` (2026-W49 or a date)."""
    if not 1 <= radius_km <= 100:
        raise InvalidRequest("radius_km must be between 1 and 100")
    if not 100 <= cell_m <= 10_000:
        raise InvalidRequest("cell_m must be between 100 and 10000")
    w = Week.parse(week, reader.time_zone)
    p = await store.find_place(conn, place)
    area = store.Area(p["lon"], p["lat"], radius_km * 1000)
    windows = store.Windows(*w.windows())
    this_week = store.Windows([0, 1], [w.start(0), w.start(1)], [w.start(-1), w.start(0)])
    inputs = BloInputs(
        place=p,
        radius_m=area.radius_m,
        week=w,
        cases=await store.case_totals(conn, area, windows),
        events=await store.event_totals(conn, area, windows),
        observations=await store.observation_totals(conn, area, this_week),
        patrol=await store.patrol_totals(
            conn, area, this_week, cell_m=cell_m, max_gap_s=motion.MotionParams().max_gap_s
        ),  # fmt: skip
        cell_m=cell_m,
        case_points=await store.case_points(conn, area, w.start(0), w.start(-1)),
    )
    return blo_report(inputs, locale=reader.locale)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown format {fmt!r}; accepted: {', '.join(FORMATS)}")
    return fmt


def illustrate(report: Report, context: list[tuple[str, str, bytes]]) -> None:
    """Draw the report's map (over the reference ``context``) and charts into
    ``report.figures`` — only the formats that show pictures need them."""
    from geomon.reports import charts
    from geomon.reports.fmt import Formatter

    fmt = Formatter(report.locale, report.time_zone)
    if report.map is not None:
        report.figures["map"] = charts.area_map(report.map, context, charts.map_box(report.map))
    for chart in report.charts:
        report.figures[chart.key] = charts.bar_chart(chart, fmt)


def _draw_and_render(report: Report, fmt: str, context: list[tuple[str, str, bytes]]) -> bytes:
    if fmt in ("html", "pdf"):
        illustrate(report, context)
    return render(report, fmt)


async def build_and_render(conn: psycopg.AsyncConnection, report: Report, fmt: str) -> bytes:
    """The file of ``report`` in ``fmt``; drawing and PDF/XLSX writing run in a worker thread
    (seconds of CPU that must not stall the event loop)."""
    from geomon.reports.charts import map_box

    context = []
    if check_format(fmt) in ("html", "pdf") and report.map is not None:
        context = await store.map_context(conn, map_box(report.map))
    return await asyncio.to_thread(_draw_and_render, report, fmt, context)


def render(report: Report, fmt: str) -> bytes:
    """``report`` as ``fmt`` (html, csv, xlsx or pdf); figures as already drawn."""
    from geomon.reports import render_text

    if check_format(fmt) == "html":
        return render_text.to_html(report).encode("utf-8")
    if fmt == "csv":
        return render_text.to_csv(report)
    if fmt == "xlsx":
        from geomon.reports.render_xlsx import to_xlsx

        return to_xlsx(report)
    from geomon.reports.render_pdf import to_pdf

    return to_pdf(report)
