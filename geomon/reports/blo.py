"""The weekly report of a Border Liaison Office for one crossing point: what happened in the
area around it (a circle around the place's point) during one week of the reader's calendar —
cases by category and substance with kilograms, events by kind and severity, sensor
observations, patrol activity — against the previous week, the mean of the four weeks before
and the same week a year earlier (52 weeks back: the same weekdays).

Pure: the aggregates come in (geomon.store.reports), a Report goes out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from geomon.errors import InvalidRequest
from geomon.i18n import Translate, translator
from geomon.reports.fmt import Formatter
from geomon.reports.model import Chart, Column, MapPoint, Report, ReportMap, Table
from geomon.reports.texts import (
    CATEGORIES,
    OBSERVATIONS,
    SUBSTANCES,
    event_kind,
    name_of,
    place_name,
    severity,
)

THIS, PREVIOUS, LAST_YEAR = 0, 1, 5
EARLIER = (1, 2, 3, 4)  # the four weeks before this one


@dataclass(frozen=True)
class Week:
    """Monday 00:00 to the next Monday 00:00 in ``zone`` (ISO weeks)."""

    monday: date
    zone: str

    @classmethod
    def parse(cls, text: str, zone: str) -> Week:
        """``2026-W49`` or any date ``2026-12-02`` of the week."""
        try:
            if "W" in text.upper():
                y, w = text.upper().split("-W")
                day = date.fromisocalendar(int(y), int(w), 1)
            else:
                day = date.fromisoformat(text)
        except ValueError:
            raise InvalidRequest(f"week {text!r}: give an ISO week (2026-W49) or a date") from None
        return cls(day - timedelta(days=day.weekday()), zone)

    def start(self, weeks_back: int = 0) -> datetime:
        d = self.monday - timedelta(weeks=weeks_back)
        return datetime.combine(d, time(), tzinfo=ZoneInfo(self.zone)).astimezone(UTC)

    def windows(self) -> tuple[list[int], list[datetime], list[datetime]]:
        back = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, LAST_YEAR: 52}
        idx = sorted(back)
        return idx, [self.start(back[i]) for i in idx], [self.start(back[i] - 1) for i in idx]

    @property
    def label(self) -> str:
        y, w, _d = self.monday.isocalendar()
        return f"{y}-W{w:02d}"


@dataclass
class BloInputs:
    place: dict[str, Any]
    radius_m: float
    week: Week
    cases: list[tuple[int, str, str | None, int, float | None, int | None]]
    events: list[tuple[int, str, str, int]]
    observations: list[tuple[int, str, int, float | None]]
    patrol: list[Any]  # geomon.store.reports.PatrolRow
    cell_m: float
    case_points: list[tuple[float, float, str, float]]


def change(now: float, before: float) -> float | None:
    return None if before == 0 else (now - before) / before


def circle_cells(radius_m: float, cell_m: float) -> int:
    """Cells of the store's patrol grid (squares of ``cell_m`` from the area's south-west
    corner, in the local plane) whose centre lies in the circle: the coverage denominator."""
    k = int(np.ceil(2 * radius_m / cell_m))
    centres = -radius_m + (np.arange(k) + 0.5) * cell_m
    gx, gy = np.meshgrid(centres, centres)
    return max(int((gx**2 + gy**2 <= radius_m**2).sum()), 1)


def _case_tables(_: Translate, x: BloInputs) -> tuple[Table, Table, Chart]:
    by_sub: dict[tuple[str, str | None], list[float]] = defaultdict(lambda: [0, 0.0, 0])
    by_cat: dict[str, np.ndarray[Any, Any]] = defaultdict(lambda: np.zeros((6, 2)))
    for i, cat, sub, n, kg, units in x.cases:
        if i == THIS:
            acc = by_sub[(cat, sub)]
            acc[0] += n
            acc[1] += kg or 0.0
            acc[2] += units or 0
        by_cat[cat][i] += (n, kg or 0.0)
    seizures = Table(
        "seizures", _("Seizures by category and substance"),
        [Column("category", _("Category")), Column("substance", _("Substance")),
         Column("cases", _("Cases"), "int"), Column("kg", _("Mass, kg"), "kg"),
         Column("units", _("Counted units"), "int")],
        [[name_of(_, CATEGORIES, c), name_of(_, SUBSTANCES, s, "—"), int(v[0]), v[1],
          int(v[2]) or None] for (c, s), v in sorted(by_sub.items(), key=lambda kv: (kv[0][0],
                                                                     kv[0][1] or ""))],
        _("No cases in this week."),
    )  # fmt: skip
    comparison = Table(
        "case_trend", _("Cases compared with earlier weeks"),
        [Column("category", _("Category")), Column("this", _("This week"), "int"),
         Column("previous", _("Previous week"), "int"), Column("change", _("Change"), "change"),
         Column("mean4", _("Mean of 4 earlier weeks"), "number"),
         Column("last_year", _("Same week last year"), "int"),
         Column("kg", _("Mass this week, kg"), "kg"),
         Column("kg_previous", _("Mass previous week, kg"), "kg")],
        [[name_of(_, CATEGORIES, c), int(a[THIS, 0]), int(a[PREVIOUS, 0]),
          change(a[THIS, 0], a[PREVIOUS, 0]), float(a[list(EARLIER), 0].mean()),
          int(a[LAST_YEAR, 0]), float(a[THIS, 1]), float(a[PREVIOUS, 1])]
         for c, a in sorted(by_cat.items())],
        _("No cases in these weeks."),
    )  # fmt: skip
    kg_now: dict[str, float] = defaultdict(float)
    kg_before: dict[str, float] = defaultdict(float)
    for i, _c, sub, _n, kg, _u in x.cases:
        if sub and kg and i in (THIS, PREVIOUS):
            (kg_now if i == THIS else kg_before)[sub] += kg
    subs = sorted(set(kg_now) | set(kg_before))
    chart = Chart(
        "kg_by_substance", _("Seized mass by substance, kg"),
        [name_of(_, SUBSTANCES, s) for s in subs],
        [(_("This week"), [kg_now[s] for s in subs]),
         (_("Previous week"), [kg_before[s] for s in subs])], "kg",
    )  # fmt: skip
    return seizures, comparison, chart


def _event_table(_: Translate, x: BloInputs) -> tuple[Table, Chart]:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for i, kind, sev, n in x.events:
        counts[(kind, sev)][i] += n
    rows = [[event_kind(_, k), severity(_, s), v[THIS], v[PREVIOUS], change(v[THIS], v[PREVIOUS]),
             sum(v[i] for i in EARLIER) / 4, v[LAST_YEAR]]
            for (k, s), v in sorted(counts.items())]  # fmt: skip
    table = Table(
        "events", _("Events by kind and severity"),
        [Column("kind", _("Kind")), Column("severity", _("Severity")),
         Column("this", _("This week"), "int"), Column("previous", _("Previous week"), "int"),
         Column("change", _("Change"), "change"),
         Column("mean4", _("Mean of 4 earlier weeks"), "number"),
         Column("last_year", _("Same week last year"), "int")],
        rows, _("No events in this week."),
    )  # fmt: skip
    kinds = sorted({k for k, _s in counts})
    per = {k: [sum(v[i] for (kk, _s), v in counts.items() if kk == k) for i in (THIS, PREVIOUS)]
           for k in kinds}  # fmt: skip
    chart = Chart("events_by_kind", _("Events by kind"), [event_kind(_, k) for k in kinds],
                  [(_("This week"), [per[k][0] for k in kinds]),
                   (_("Previous week"), [per[k][1] for k in kinds])])  # fmt: skip
    return table, chart


def _observation_table(_: Translate, x: BloInputs) -> Table:
    acc: dict[str, list[float]] = defaultdict(lambda: [0.0] * 4)
    for i, kind, n, total in x.observations:
        if i in (THIS, PREVIOUS):
            acc[kind][i * 2] += n
            acc[kind][i * 2 + 1] += total or 0.0
    rows = [[name_of(_, OBSERVATIONS, k), int(v[0]), v[1] if k == "vehicle_count" else None,
             int(v[2]), change(v[0], v[2])] for k, v in sorted(acc.items())]  # fmt: skip
    return Table(
        "observations", _("Sensor observations"),
        [Column("kind", _("Kind")), Column("this", _("This week"), "int"),
         Column("vehicles", _("Vehicles"), "int"), Column("previous", _("Previous week"), "int"),
         Column("change", _("Change"), "change")],
        rows, _("No sensor observations in this week."),
    )  # fmt: skip


def _patrol(_: Translate, x: BloInputs) -> tuple[Table, dict[int, tuple[int, float, float]]]:
    """The week's patrol table and, per window: devices, km in the area, share covered."""
    total = circle_cells(x.radius_m, x.cell_m)
    rows: list[list[object]] = []
    summary: dict[int, tuple[int, float, float]] = {}
    for w in (THIS, PREVIOUS):
        mine = [p for p in x.patrol if p.window == w]
        cells = mine[0].window_cells if mine else 0
        summary[w] = (len(mine), sum(p.distance_m for p in mine) / 1000, cells / total)
        if w == THIS:
            rows = [[p.name, p.fixes, p.distance_m / 1000, p.first, p.last] for p in mine]
    table = Table(
        "patrol", _("Patrol activity in the area"),
        [Column("device", _("Device")), Column("fixes", _("Fixes"), "int"),
         Column("km", _("Distance in the area, km"), "km"),
         Column("first", _("First fix"), "datetime"), Column("last", _("Last fix"), "datetime")],
        rows, _("No patrol fixes in the area this week."),
    )  # fmt: skip
    return table, summary


def _meta(_: Translate, fmt: Formatter, x: BloInputs, name: str,
          ps: dict[int, tuple[int, float, float]]) -> list[tuple[str, str]]:  # fmt: skip
    total_kg = sum(c[4] or 0.0 for c in x.cases if c[0] == THIS)
    (dev, km, cov), (dev0, km0, cov0) = ps[THIS], ps[PREVIOUS]
    end = x.week.monday + timedelta(days=6)
    return [
        (_("Crossing point"), name),
        (_("Week"), _("{week}: {start} – {end}", week=x.week.label,
                      start=fmt.date(x.week.monday), end=fmt.date(end))),
        (_("Area"), _("within {km} km of the point", km=fmt.number(x.radius_m / 1000, "km"))),
        (_("Time zone"), x.week.zone),
        (_("Seized mass, kg"), fmt.number(total_kg, "kg")),
        (_("Patrolling devices"), _("{now} (previous week {before})", now=dev, before=dev0)),
        (_("Distance patrolled, km"), _("{now} (previous week {before})",
                                        now=fmt.number(km, "km"), before=fmt.number(km0, "km"))),
        (_("Area covered"), _("{now} (previous week {before})", now=fmt.cell("percent", cov),
                              before=fmt.cell("percent", cov0))),
    ]  # fmt: skip


def blo_report(x: BloInputs, *, locale: str, now: datetime | None = None) -> Report:
    _ = translator(locale)
    fmt = Formatter(locale, x.week.zone)
    seizures, trend, kg_chart = _case_tables(_, x)
    events, ev_chart = _event_table(_, x)
    patrol, ps = _patrol(_, x)
    name = place_name(x.place, locale)
    meta = _meta(_, fmt, x, name, ps)
    legend = {"place": name, "case": _("Cases")}
    points = [MapPoint(x.place["lon"], x.place["lat"], "place", name)]
    points += [MapPoint(lon, lat, "case", name_of(_, CATEGORIES, c)) for lon, lat, c, _kg
               in x.case_points]  # fmt: skip
    rmap = ReportMap(_("Cases of the week around {place}", place=name),
                     (x.place["lon"], x.place["lat"]), x.radius_m, points, legend)  # fmt: skip
    return Report(
        "blo-weekly", _("Weekly BLO report: {place}", place=name), locale, x.week.zone,
        now or datetime.now(UTC), meta,
        [seizures, trend, events, _observation_table(_, x), patrol], [kg_chart, ev_chart], rmap,
        _("Cell size for coverage: {m} m.", m=fmt.number(x.cell_m, "int")),
    )  # fmt: skip
