"""A report as data: translated titles, typed cells, charts and a map; renderers turn it into
HTML, CSV, XLSX or PDF. Cells keep their raw values (aware UTC datetimes, kilometres, seconds)
and each column says what it holds, so every format shows them its own way and the figures
never pass through text between the engine and a spreadsheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# text; int; number (2 decimals); km; kmh; kg; duration (seconds, shown h:mm); datetime
# (aware, shown in the reader's zone); date; percent (a share 0..1); change (a ratio, ±%)
Kind = Literal[
    "text", "int", "number", "km", "kmh", "kg", "duration", "datetime", "date", "percent", "change"
]
Cell = object


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind = "text"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)
    empty: str = ""  # what to say when there are no rows (translated)


@dataclass(frozen=True)
class Chart:
    """Bars per label; one or more series (e.g. this week and the previous one)."""

    key: str
    title: str
    labels: list[str]
    series: list[tuple[str, list[float]]]
    unit: str = ""


@dataclass(frozen=True)
class MapPoint:
    lon: float
    lat: float
    kind: str  # place, case, event, stop
    label: str = ""


@dataclass
class ReportMap:
    title: str
    center: tuple[float, float]
    radius_m: float
    points: list[MapPoint] = field(default_factory=list)
    legend: dict[str, str] = field(default_factory=dict)  # point kind -> translated name


@dataclass
class Report:
    kind: str  # trips, stops, summary, blo-weekly
    title: str
    locale: str
    time_zone: str
    generated_at: datetime
    meta: list[tuple[str, str]] = field(default_factory=list)  # (label, shown value)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    map: ReportMap | None = None
    footer: str = ""
    figures: dict[str, bytes] = field(default_factory=dict)  # chart/map key -> PNG
