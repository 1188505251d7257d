"""PDF rendering (reportlab): A4, the title and facts, the map and charts (PNG from
geomon.reports.charts), then the tables with their header repeated on each page. Text is set
in DejaVu Sans, which covers Cyrillic: Debian's fonts-dejavu-core (scripts/setup installs
it), else the copy matplotlib ships; no font file lives in this repository."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as PdfTable

from geomon.errors import ConfigError
from geomon.i18n import translator
from geomon.reports.fmt import Formatter
from geomon.reports.model import Report, Table
from geomon.reports.render_text import NUMERIC

DEBIAN_FONTS = Path("/usr/share/fonts/truetype/dejavu")


def _font_file(name: str) -> Path:
    for folder in (DEBIAN_FONTS, _matplotlib_fonts()):
        if folder is not None and (folder / name).is_file():
            return folder / name
    raise ConfigError(f"font {name} not found: install fonts-dejavu-core (scripts/setup)")


def _matplotlib_fonts() -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular, bold) with reportlab once per process."""
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(_font_file("DejaVuSans.ttf"))))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(_font_file("DejaVuSans-Bold.ttf"))))
    return "DejaVuSans", "DejaVuSans-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=11.5, leading=14, spaceBefore=10, spaceAfter=4
        ),  # fmt: skip
        "body": ParagraphStyle("body", fontName=regular, fontSize=9, leading=11),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=7.5, leading=9),
        "head": ParagraphStyle("head", fontName=bold, fontSize=7.5, leading=9),
        "num": ParagraphStyle("num", fontName=regular, fontSize=7.5, leading=9, alignment=2),
        "small": ParagraphStyle(
            "small", fontName=regular, fontSize=7, leading=9, textColor=colors.grey
        ),  # fmt: skip
    }


def _table(t: Table, fmt: Formatter, st: dict[str, ParagraphStyle], width: float) -> list[object]:
    out: list[object] = [Paragraph(escape(t.title), st["h2"])]
    if not t.rows:
        return [*out, Paragraph(escape(t.empty), st["body"])]
    data = [[Paragraph(escape(c.title), st["head"]) for c in t.columns]]
    for row in t.rows:
        data.append([
            Paragraph(escape(fmt.cell(c.kind, v)), st["num" if c.kind in NUMERIC else "cell"])
            for c, v in zip(t.columns, row, strict=True)
        ])  # fmt: skip
    grid = PdfTable(data, repeatRows=1, colWidths=[width / len(t.columns)] * len(t.columns))
    grid.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))  # fmt: skip
    return [*out, grid]


def to_pdf(report: Report) -> bytes:
    _ = translator(report.locale)
    fmt = Formatter(report.locale, report.time_zone)
    st = _styles()
    wide = any(len(t.columns) > 7 for t in report.tables)
    page = landscape(A4) if wide else A4
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=page, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=report.title,
                            author="geomon", lang=report.locale)  # fmt: skip
    width = page[0] - 30 * mm
    story: list[object] = [Paragraph(escape(report.title), st["title"])]
    facts = [[Paragraph(escape(k), st["head"]), Paragraph(escape(v), st["cell"])]
             for k, v in report.meta]  # fmt: skip
    if facts:
        story.append(PdfTable(facts, colWidths=[width * 0.3, width * 0.7], hAlign="LEFT"))
    for png in report.figures.values():
        img = Image(io.BytesIO(png))
        scale = min(width / img.imageWidth, (page[1] * 0.45) / img.imageHeight)
        img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
        img.hAlign = "CENTER"
        story += [Spacer(1, 4 * mm), KeepTogether([img])]
    for t in report.tables:
        story += _table(t, fmt, st, width)
    made = _("Made {time} by geomon", time=fmt.datetime(report.generated_at))
    story += [Spacer(1, 6 * mm), Paragraph(escape(f"{report.footer} {made}"), st["small"])]
    doc.build(story)
    return buf.getvalue()
