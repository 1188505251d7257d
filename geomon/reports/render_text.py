"""HTML and CSV renderings of a :class:`~geomon.reports.model.Report`.

HTML is one self-contained page (no script, no external asset: it is mailed and opened
offline), every text escaped, numbers and times as the reader reads them. CSV is for
spreadsheets and scripts: UTF-8 with a BOM (Excel then reads the Cyrillic right), one block
per table (its title, the header, the rows, a blank line), numbers with a decimal point and no
grouping, times ISO 8601 in the reader's zone with the offset, durations H:MM:SS."""

from __future__ import annotations

import base64
import csv
import io
import math
from datetime import date, datetime
from html import escape

from geomon.i18n import translator
from geomon.reports.fmt import Formatter
from geomon.reports.model import Cell, Kind, Report, Table

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #bbb;padding:.25em .6em}
th{background:#eee;text-align:left}td.n{text-align:right;white-space:nowrap}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}
.empty{color:#666;font-style:italic}footer{margin-top:2em;color:#666;font-size:.85em}
"""
NUMERIC: frozenset[str] = frozenset(
    {"int", "number", "km", "kmh", "kg", "duration", "percent", "change"}
)


def _html_table(t: Table, fmt: Formatter) -> str:
    head = "".join(f"<th>{escape(c.title)}</th>" for c in t.columns)
    if not t.rows:
        return f'<h2>{escape(t.title)}</h2><p class="empty">{escape(t.empty)}</p>'
    body = []
    for row in t.rows:
        cells = []
        for c, v in zip(t.columns, row, strict=True):
            cls = ' class="n"' if c.kind in NUMERIC else ""
            cells.append(f"<td{cls}>{escape(fmt.cell(c.kind, v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<h2>{escape(t.title)}</h2><table data-key="{escape(t.key)}"><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table>"
    )


def to_html(report: Report) -> str:
    """The page, with the report's figures (PNG) inline as data URIs."""
    _ = translator(report.locale)
    fmt = Formatter(report.locale, report.time_zone)
    meta = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in report.meta)
    figs = "".join(
        f'<figure data-key="{escape(k)}"><img alt="" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"></figure>'
        for k, png in report.figures.items()
    )
    tables = "".join(_html_table(t, fmt) for t in report.tables)
    made = escape(_("Made {time} by geomon", time=fmt.datetime(report.generated_at)))
    foot = escape(report.footer)
    return (
        f'<!DOCTYPE html><html lang="{escape(report.locale)}"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(report.title)}</h1><dl>{meta}</dl>{figs}{tables}"
        f"<footer>{foot} {made}</footer></body></html>"
    )


def raw(kind: Kind, value: Cell, fmt: Formatter) -> str:
    """A cell for machines: unformatted numbers, ISO times in the reader's zone."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return fmt.local(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "duration" and isinstance(value, int | float):
        s = int(round(value))
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if kind == "int" and isinstance(value, int | float):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if kind != "text" else str(value)
    return str(value)


def to_csv(report: Report) -> bytes:
    fmt = Formatter(report.locale, report.time_zone)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([report.title])
    for k, v in report.meta:
        w.writerow([k, v])
    for t in report.tables:
        w.writerow([])
        w.writerow([t.title])
        w.writerow([c.title for c in t.columns])
        for row in t.rows:
            w.writerow([raw(c.kind, v, fmt) for c, v in zip(t.columns, row, strict=True)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
