"""Charts and the area map of a report as PNG, drawn with matplotlib's object API (a Figure
per picture, no pyplot state: safe in the API's worker threads; Agg, no display).

The map draws the countries and borders of the reference tables (clipped to the area by the
store), the circle of the area, the place and the points of the week. Labels use DejaVu Sans
(matplotlib's default; it has Cyrillic)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from geomon.reports.fmt import Formatter
from geomon.reports.model import Chart, ReportMap

COLOURS = ("#1f5fa8", "#b0b7c3", "#d9822b", "#3a8f4b")
POINT_STYLE = {"place": ("*", "#c0392b", 160), "case": ("o", "#1f5fa8", 22),
               "event": ("^", "#d9822b", 30), "stop": ("s", "#3a8f4b", 22)}  # fmt: skip


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    return buf.getvalue()


def bar_chart(chart: Chart, fmt: Formatter) -> bytes:
    """Grouped horizontal bars, one group per label, values written at the bar ends."""
    n = max(len(chart.labels), 1)
    fig = Figure(figsize=(7, 0.5 + 0.45 * n * max(len(chart.series), 1) / 1.5))
    ax = fig.subplots()
    height = 0.8 / max(len(chart.series), 1)
    y = np.arange(len(chart.labels))
    for k, (name, values) in enumerate(chart.series):
        pos = y + k * height
        ax.barh(pos, values, height, label=name, color=COLOURS[k % len(COLOURS)])
        for p, v in zip(pos, values, strict=True):
            if v:
                ax.text(v, p, " " + fmt.number(v, chart.unit or "number"), va="center",
                        fontsize=7)  # fmt: skip
    ax.set_yticks(y + height * (len(chart.series) - 1) / 2, chart.labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(chart.title, fontsize=10)
    ax.margins(x=0.15)
    ax.xaxis.set_major_formatter(lambda v, _p: fmt.number(v, "number"))
    if not chart.labels:
        ax.text(0.5, 0.5, "—", transform=ax.transAxes, ha="center")
    if chart.series:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                  ncol=len(chart.series), frameon=False)  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _draw_geoms(ax: Axes, context: Sequence[tuple[str, str, bytes]]) -> None:
    for layer, code, wkb in context:
        geom = shapely.from_wkb(wkb)
        if geom.is_empty:
            continue
        parts = getattr(geom, "geoms", [geom])
        if layer == "country":
            at = geom.representative_point()
            ax.text(at.x, at.y, code, color="#777", fontsize=9, ha="center", zorder=2)
        for part in parts:
            if layer == "country" and part.geom_type == "Polygon":
                x, y = part.exterior.xy
                ax.fill(x, y, facecolor="#f3f1ea", edgecolor="#999", linewidth=0.5, zorder=1)
            elif part.geom_type == "LineString":
                x, y = part.xy
                ax.plot(x, y, color="#7a2e8e", linewidth=1.4, linestyle="--", zorder=2)


def area_map(rmap: ReportMap, context: Sequence[tuple[str, str, bytes]],
             box: tuple[float, float, float, float]) -> bytes:  # fmt: skip
    """The area: context layers, the circle, the place (a star) and the points."""
    fig = Figure(figsize=(6.5, 6.5))
    ax = fig.subplots()
    ax.set_facecolor("#dfe9f3")
    _draw_geoms(ax, context)
    lon, lat = rmap.center
    ring = np.linspace(0, 2 * np.pi, 181)
    dy = rmap.radius_m / 110_574.0
    dx = rmap.radius_m / (111_320.0 * np.cos(np.radians(lat)))
    ax.plot(lon + dx * np.cos(ring), lat + dy * np.sin(ring), color="#c0392b", lw=1, zorder=3)
    for kind in ("case", "event", "stop", "place"):
        pts = [p for p in rmap.points if p.kind == kind]
        if not pts:
            continue
        marker, colour, size = POINT_STYLE.get(kind, ("o", "#333", 20))
        ax.scatter([p.lon for p in pts], [p.lat for p in pts], s=size, marker=marker,
                   color=colour, edgecolor="white", linewidth=0.4, zorder=4,
                   label=rmap.legend.get(kind, kind))  # fmt: skip
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect(1 / np.cos(np.radians(lat)))
    ax.set_title(rmap.title, fontsize=10)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=8, loc="upper right")
    return _png(fig)


def map_box(rmap: ReportMap, margin: float = 1.3) -> tuple[float, float, float, float]:
    lon, lat = rmap.center
    dy = rmap.radius_m * margin / 110_574.0
    dx = rmap.radius_m * margin / (111_320.0 * np.cos(np.radians(lat)))
    return (lon - dx, lat - dy, lon + dx, lat + dy)
