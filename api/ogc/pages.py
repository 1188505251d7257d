"""Small HTML pages for the OGC API – Features resources (the HTML conformance class)."""

from __future__ import annotations

from html import escape
from typing import Any

from babel.numbers import format_decimal

from geomon.i18n import Translate, translator

_STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:70em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
    "font-size:90%}"
)


def _count(n: object, locale: str) -> str:
    return format_decimal(n, locale=locale) if isinstance(n, int) else "?"


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{escape(link["href"])}" rel="{escape(link["rel"])}">'
        f"{escape(link.get('title') or link['rel'])}</a> "
        f"<small>({escape(link['rel'])}, {escape(link.get('type', ''))})</small></li>"
        for link in links
    )
    return f"<ul>{items}</ul>"


def _table(rows: list[dict[str, Any]], _: Translate) -> str:
    if not rows:
        nothing = _("Nothing here.")  # outside the f-string, where pybabel finds it
        return f"<p>{escape(nothing)}</p>"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, doc: dict[str, Any], locale: str = "en") -> str:
    """An HTML view of a JSON resource: title, description, links and a table of its items."""
    _ = translator(locale)
    parts = [
        f"<!doctype html><html lang='{escape(locale)}'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
    ]
    if doc.get("description"):
        parts.append(f"<p>{escape(str(doc['description']))}</p>")
    if "numberMatched" in doc or "numberReturned" in doc:
        counts = _(
            "{returned} returned of {matched} matched.",
            returned=format_decimal(doc.get("numberReturned", 0), locale=locale),
            matched=_count(doc.get("numberMatched"), locale),
        )
        parts.append(f"<p>{escape(counts)}</p>")
    if "extent" in doc:
        extent = _("Extent: {extent}", extent=str(doc["extent"]))
        parts.append(f"<p>{escape(extent)}</p>")
    parts.append(_links(doc.get("links", [])))
    if "conformsTo" in doc:
        parts.append(_table([{_("conformance class"): c} for c in doc["conformsTo"]], _))
    if "collections" in doc:
        parts.append(
            _table(
                [
                    {
                        "id": c["id"],
                        _("title"): c.get("title", ""),
                        _("description"): c.get("description", ""),
                    }
                    for c in doc["collections"]
                ],
                _,
            )
        )
    if "features" in doc:
        parts.append(
            _table([{"id": f.get("id"), **f.get("properties", {})} for f in doc["features"]], _)
        )
    if doc.get("type") == "Feature":
        parts.append(_table([{"id": doc.get("id"), **doc.get("properties", {})}], _))
        parts.append(f"<pre>{escape(str(doc.get('geometry')))[:4000]}</pre>")
    parts.append("</body></html>")
    return "".join(parts)
