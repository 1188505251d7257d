"""XLSX rendering (openpyxl): a first sheet with the title and the report's facts, then one
sheet per table with native cells — numbers as numbers with a display format, times as the
reader's local time (Excel has no zones; the zone is written on the first sheet), durations
as Excel durations ([h]:mm), shares as percentages — so the figures can be summed, filtered
and charted in the spreadsheet."""

from __future__ import annotations

import io
import math
import re
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from geomon.i18n import translator
from geomon.reports.fmt import Formatter
from geomon.reports.model import Cell, Chart, Kind, Report

NUMBER_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "number": "#,##0.00",
    "km": "#,##0.0",
    "kmh": "#,##0",
    "kg": "#,##0.000",
    "duration": "[h]:mm",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
    "percent": "0.0%",
    "change": "+0%;-0%;0%",
}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", title)[:28].strip() or "Sheet"
    name, k = base, 2
    while name.lower() in used:
        name, k = f"{base[:25]} {k}", k + 1
    used.add(name.lower())
    return name


def _value(kind: Kind, v: Cell, fmt: Formatter) -> object:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, datetime):
        return fmt.local(v).replace(tzinfo=None)
    if kind == "duration" and isinstance(v, int | float):
        return float(v) / 86400.0
    if isinstance(v, int | float | str | date):
        return v
    return str(v)


def to_xlsx(report: Report) -> bytes:
    fmt = Formatter(report.locale, report.time_zone)
    wb = Workbook()
    first = wb.active
    assert first is not None
    used: set[str] = set()
    first.title = _sheet_name(report.title, used)
    first.append([report.title])
    first["A1"].font = Font(bold=True, size=14)
    for k, v in report.meta:
        first.append([k, v])
    if report.footer:
        first.append([])
        first.append([report.footer])
    first.column_dimensions["A"].width = 30
    first.column_dimensions["B"].width = 60
    for t in report.tables:
        ws = wb.create_sheet(_sheet_name(t.title, used))
        ws.append([c.title for c in t.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in t.rows:
            ws.append([_value(c.kind, v, fmt) for c, v in zip(t.columns, row, strict=True)])
        for j, c in enumerate(t.columns, start=1):
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = max(12, min(40, len(c.title) + 4))
            if c.kind in NUMBER_FORMATS:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = NUMBER_FORMATS[c.kind]
        ws.freeze_panes = "A2"
        if t.rows:
            ws.auto_filter.ref = ws.dimensions
        else:
            ws.append([t.empty])
    if report.charts:
        _charts(wb, report, used)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _charts(wb: Workbook, report: Report, used: set[str]) -> None:
    """One sheet with each chart's figures and a native Excel bar chart drawn from them (the
    reader can restyle or extend it; nothing is a picture)."""
    _ = translator(report.locale)
    sheet = wb.create_sheet(_sheet_name(_("Charts"), used))
    row = 1
    for chart in report.charts:
        row = _chart(sheet, chart, row) + 2


def _chart(sheet: Worksheet, chart: Chart, row: int) -> int:
    sheet.cell(row, 1, chart.title).font = Font(bold=True)
    for k, (name, _values) in enumerate(chart.series, start=2):
        sheet.cell(row + 1, k, name)
    for j, label in enumerate(chart.labels):
        sheet.cell(row + 2 + j, 1, label)
        for k, (_name, values) in enumerate(chart.series, start=2):
            sheet.cell(row + 2 + j, k, values[j])
    last = row + 1 + len(chart.labels)
    if chart.labels:
        bar = BarChart()
        bar.type, bar.title = "bar", chart.title
        data = Reference(sheet, min_col=2, max_col=1 + len(chart.series), min_row=row + 1,
                         max_row=last)  # fmt: skip
        bar.add_data(data, titles_from_data=True)
        bar.set_categories(Reference(sheet, min_col=1, min_row=row + 2, max_row=last))
        bar.height, bar.width = 4 + 0.6 * len(chart.labels), 16
        sheet.add_chart(bar, f"E{row}")
    return max(last, row + int(4 + 0.6 * len(chart.labels)) * 2)
