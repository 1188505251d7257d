"""Team reports as Traccar defines them — trips, stops, daily summary — per device over a
window, from the fixes (geomon.reports.motion) to a :class:`~geomon.reports.model.Report`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from geomon.i18n import Translate, translator
from geomon.reports import motion
from geomon.reports.fmt import Formatter
from geomon.reports.model import Column, Report, Table
from geomon.reports.texts import Gazetteer

KMH = 3.6
TEAM_KINDS = ("trips", "stops", "summary")


@dataclass(frozen=True)
class DeviceFixes:
    device: dict[str, Any]  # id, uid, name, agency
    fixes: motion.Fixes


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _device(d: dict[str, Any]) -> str:
    return str(d["name"] or d["uid"])


def _near(_: Translate, fmt: Formatter, gaz: Gazetteer, lon: float, lat: float) -> str:
    name, metres = gaz.nearest(lon, lat)
    if not name:
        return ""
    return _("{place}, {distance} km", place=name, distance=fmt.number(metres / 1000, "km"))


def trips_table(_: Translate, fmt: Formatter, gaz: Gazetteer, runs: list[tuple[DeviceFixes,
                motion.Motion]]) -> Table:  # fmt: skip
    cols = [
        Column("device", _("Device")),
        Column("start", _("Start"), "datetime"),
        Column("start_place", _("Start near")),
        Column("end", _("End"), "datetime"),
        Column("end_place", _("End near")),
        Column("distance_km", _("Distance, km"), "km"),
        Column("duration", _("Duration"), "duration"),
        Column("max_speed_kmh", _("Max speed, km/h"), "kmh"),
        Column("avg_speed_kmh", _("Average speed, km/h"), "kmh"),
    ]
    rows: list[list[object]] = []
    for df, m in runs:
        for t in m.trips:
            rows.append([_device(df.device), _utc(t.start_t),
                         _near(_, fmt, gaz, t.start_lon, t.start_lat), _utc(t.end_t),
                         _near(_, fmt, gaz, t.end_lon, t.end_lat), t.distance_m / 1000,
                         t.duration_s, t.max_speed_mps * KMH, t.avg_speed_mps * KMH])  # fmt: skip
    return Table("trips", _("Trips"), cols, rows, _("No trips in this period."))


def stops_table(_: Translate, fmt: Formatter, gaz: Gazetteer, runs: list[tuple[DeviceFixes,
                motion.Motion]]) -> Table:  # fmt: skip
    cols = [
        Column("device", _("Device")),
        Column("start", _("Start"), "datetime"),
        Column("end", _("End"), "datetime"),
        Column("duration", _("Duration"), "duration"),
        Column("place", _("Near")),
        Column("lat", _("Latitude"), "number"),
        Column("lon", _("Longitude"), "number"),
    ]
    rows: list[list[object]] = []
    for df, m in runs:
        for s in m.stops:
            rows.append([_device(df.device), _utc(s.start_t), _utc(s.end_t), s.duration_s,
                         _near(_, fmt, gaz, s.lon, s.lat), round(s.lat, 5),
                         round(s.lon, 5)])  # fmt: skip
    return Table("stops", _("Stops"), cols, rows, _("No stops in this period."))


def summary_table(_: Translate, runs: list[tuple[DeviceFixes, motion.Motion]],
                  zone: ZoneInfo) -> Table:  # fmt: skip
    cols = [
        Column("device", _("Device")),
        Column("day", _("Day"), "date"),
        Column("distance_km", _("Distance, km"), "km"),
        Column("moving", _("Time moving"), "duration"),
        Column("stopped", _("Time stopped"), "duration"),
        Column("max_speed_kmh", _("Max speed, km/h"), "kmh"),
        Column("fixes", _("Fixes"), "int"),
    ]
    rows: list[list[object]] = []
    for df, m in runs:
        for d in motion.daily(m, zone):
            rows.append([_device(df.device), d.day, d.distance_m / 1000, d.moving_s,
                         d.stopped_s, d.max_speed_mps * KMH, d.fixes])  # fmt: skip
    return Table("summary", _("Daily summary"), cols, rows, _("No fixes in this period."))


def team_report(
    kind: str,
    data: Sequence[DeviceFixes],
    places: Sequence[dict[str, Any]],
    window: Window,
    *,
    locale: str,
    time_zone: str,
    params: motion.MotionParams = motion.MotionParams(),
    now: datetime | None = None,
) -> Report:
    """The ``kind`` report (trips, stops or summary) of ``data`` over ``window``."""
    _ = translator(locale)
    fmt = Formatter(locale, time_zone)
    gaz = Gazetteer(places, locale)
    runs = [(df, motion.detect(df.fixes, params)) for df in data]
    titles = {"trips": _("Trips report"), "stops": _("Stops report"),
              "summary": _("Daily summary report")}  # fmt: skip
    if kind == "trips":
        table = trips_table(_, fmt, gaz, runs)
    elif kind == "stops":
        table = stops_table(_, fmt, gaz, runs)
    else:
        table = summary_table(_, runs, fmt.zone)
    meta = [
        (
            _("Period"),
            _("{start} – {end}", start=fmt.datetime(window.start), end=fmt.datetime(window.end)),
        ),  # fmt: skip
        (_("Time zone"), time_zone),
        (_("Devices"), ", ".join(_device(df.device) for df in data) or "—"),
    ]
    return Report(kind, titles[kind], locale, time_zone, now or datetime.now(UTC), meta, [table])
