"""``/api/v1/reports/…``: the reports of docs/reports.md as files — trips, stops and the daily
summary of teams over a window, and the weekly BLO report of a crossing point — in the
caller's language and time zone (``lang``, ``tz`` or the user's settings), computed under the
caller's row-level security, as ``format=html|csv|xlsx|pdf``. Reads of fixes are audited as
track reads are."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response

from api.auth import audited
from api.common import RESPONSES, End, Start, window
from api.deps import ReadConn
from api.i18n import page_locale
from geomon.errors import InvalidRequest
from geomon.i18n.zones import is_time_zone
from geomon.reports import service
from geomon.reports.blo import Week
from geomon.reports.model import Report

router = APIRouter(prefix="/reports", tags=["reports"], responses=RESPONSES)

Format = Annotated[
    Literal["html", "csv", "xlsx", "pdf"], Query(description="File format of the report.")
]
Zone = Annotated[
    str | None,
    Query(max_length=64, description="IANA time zone; default: the user's, else the agency's."),
]
Devices = Annotated[
    list[int] | None,
    Query(alias="device", description="Device ids (repeat); default: every visible team."),
]
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report file (HTML page, CSV, XLSX workbook or PDF).",
        "content": {media.split(";")[0]: {} for media, _ext in service.FORMATS.values()},
    }
}


async def _reader(request: Request, tz: str | None) -> service.Reader:
    shown = await page_locale(request)
    if tz is not None and not is_time_zone(tz):
        raise InvalidRequest(f"unknown time zone {tz!r} (an IANA name such as Asia/Bishkek)")
    return service.Reader(shown.locale, tz or shown.time_zone)


async def _file(conn: ReadConn, report: Report, fmt: str, name: str) -> Response:
    data = await service.build_and_render(conn, report, fmt)
    media, ext = service.FORMATS[fmt]
    disposition = "inline" if fmt in ("html", "pdf") else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{name}.{ext}"'}
    return Response(data, media_type=media, headers=headers)


def _check_devices(device: list[int] | None) -> list[int] | None:
    if device and (len(device) > service.MAX_DEVICES or min(device) < 1 or max(device) > 2**31):
        raise InvalidRequest(f"device: at most {service.MAX_DEVICES} ids between 1 and 2^31")
    return device or None


async def _team(kind: str, request: Request, conn: ReadConn, device: list[int] | None,
                start: Any, end: Any, fmt: str, tz: str | None) -> Response:  # fmt: skip
    t0, t1 = window(start, end)
    reader = await _reader(request, tz)
    report = await service.team(conn, kind, _check_devices(device), t0, t1, reader)
    return await _file(conn, report, fmt, f"{kind}-{t0:%Y%m%d}-{t1:%Y%m%d}")


@router.get("/trips", summary="Trips of teams over a window (Traccar's definition)",
            dependencies=[Depends(audited)], responses=FILES)  # fmt: skip
async def trips(request: Request, conn: ReadConn, device: Devices = None, start: Start = None,
                end: End = None, format: Format = "html", tz: Zone = None) -> Response:  # fmt: skip
    return await _team("trips", request, conn, device, start, end, format, tz)


@router.get("/stops", summary="Stops of teams over a window",
            dependencies=[Depends(audited)], responses=FILES)  # fmt: skip
async def stops(request: Request, conn: ReadConn, device: Devices = None, start: Start = None,
                end: End = None, format: Format = "html", tz: Zone = None) -> Response:  # fmt: skip
    return await _team("stops", request, conn, device, start, end, format, tz)


@router.get("/summary", summary="Daily summary per team: distance, time moving/stopped",
            dependencies=[Depends(audited)], responses=FILES)  # fmt: skip
async def summary(request: Request, conn: ReadConn, device: Devices = None,
                  start: Start = None, end: End = None, format: Format = "html",
                  tz: Zone = None) -> Response:  # fmt: skip
    return await _team("summary", request, conn, device, start, end, format, tz)


@router.get("/blo-weekly", summary="Weekly BLO report of a crossing point",
            dependencies=[Depends(audited)], responses=FILES)  # fmt: skip
async def blo_weekly(
    request: Request,
    conn: ReadConn,
    place: Annotated[str, Query(min_length=1, max_length=200, description="Place id or name.")],
    week: Annotated[
        str, Query(min_length=6, max_length=10, description="ISO week (2026-W49) or a date in it.")
    ],
    radius_km: Annotated[float, Query(ge=1, le=100, description="Area around the point.")] = 25,
    format: Format = "html",
    tz: Zone = None,
) -> Response:
    if "\x00" in place or "\x00" in week:
        raise InvalidRequest("place and week must not contain NUL")
    reader = await _reader(request, tz)
    report = await service.blo_weekly(conn, place, week, reader, radius_km=radius_km)
    label = Week.parse(week, reader.time_zone).label
    return await _file(conn, report, format, f"blo-weekly-{label}")


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
