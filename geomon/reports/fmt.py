"""Cells as a person reads them: numbers, dates and times in the reader's locale (Babel, CLDR)
and time zone (zoneinfo)."""

from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from geomon.reports.model import Cell, Kind

_PATTERNS = {"int": "#,##0", "number": "#,##0.##", "km": "#,##0.0", "kmh": "#,##0",
             "kg": "#,##0.###"}  # fmt: skip


class Formatter:
    def __init__(self, locale: str, time_zone: str) -> None:
        self.locale = locale
        self.zone = ZoneInfo(time_zone)

    def local(self, t: datetime) -> datetime:
        return t.astimezone(self.zone)

    def datetime(self, t: datetime) -> str:
        return format_datetime(self.local(t), "short", tzinfo=self.zone, locale=self.locale)

    def date(self, d: date) -> str:
        return format_date(d, "medium", locale=self.locale)

    def number(self, x: float, kind: str = "number") -> str:
        return format_decimal(x, _PATTERNS.get(kind, "#,##0.##"), locale=self.locale)

    @staticmethod
    def duration(seconds: float) -> str:
        minutes = int(round(seconds / 60))
        return f"{minutes // 60}:{minutes % 60:02d}"

    def cell(self, kind: Kind, value: Cell) -> str:
        """``value`` of a column of ``kind`` as text ("" for none)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—" if kind == "change" else ""
        if kind == "datetime" and isinstance(value, datetime):
            return self.datetime(value)
        if kind == "date" and isinstance(value, date):
            return self.date(value)
        if kind == "duration" and isinstance(value, int | float):
            return self.duration(float(value))
        if kind == "percent" and isinstance(value, int | float):
            return format_percent(value, "#,##0.#%", locale=self.locale)
        if kind == "change" and isinstance(value, int | float):
            text = format_percent(abs(value), "#,##0%", locale=self.locale)
            return ("+" if value > 0 else "−" if value < 0 else "±") + text
        if kind in _PATTERNS and isinstance(value, int | float):
            return self.number(value, kind)
        return str(value)
