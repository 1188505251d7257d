"""HTML of the map's panels (events, replay, search, legend). geomon-panels.js moves each
into a Leaflet control so they stay on the map in fullscreen."""

from __future__ import annotations

from html import escape

from api.map.layers import CORRIDOR_COLOUR, GI_BIN_COLOURS, GI_BIN_LABELS, ZONE_COLOUR
from geomon.i18n import N_, Translate, translator

PLACE_COLOURS = {
    "road_bcp": "#d62728",
    "rail_bcp": "#9467bd",
    "air_bcp": "#e377c2",
    "dry_port": "#ff7f0e",
    "seaport": "#17becf",
    "office": "#1f77b4",
}
PLACE_LABELS = {
    "road_bcp": N_("Road crossing point"),
    "rail_bcp": N_("Rail crossing point"),
    "air_bcp": N_("Airport crossing point"),
    "dry_port": N_("Dry port"),
    "seaport": N_("Seaport"),
    "office": N_("Office / border post"),
}


def _events_panel(_: Translate) -> str:
    # Babel (on Python 3.11) does not look inside f-strings: translate first, then format.
    title, critical = escape(_("Events")), escape(_("CRITICAL"))
    return f"""
<div id="gm-events" class="gm-panel">
  <div class="gm-head">{title} <span id="gm-events-count" class="gm-badge">0</span>
    <span id="gm-alarm" class="gm-alarm" hidden>{critical}</span></div>
  <ul id="gm-events-list" class="gm-list"></ul>
</div>"""


def _replay_panel(_: Translate) -> str:
    windows = [(900, _("{n} min", n=15)), (3600, _("{n} h", n=1))]
    windows += [(21600, _("{n} h", n=6)), (86400, _("{n} h", n=24))]
    options = "".join(
        f'<option value="{v}"{" selected" if v == 3600 else ""}>{escape(t)}</option>'
        for v, t in windows
    )
    head, team, last = escape(_("Track replay")), escape(_("Team")), escape(_("Last"))
    load, empty = escape(_("Load")), escape(_("no track loaded"))
    return f"""
<div id="gm-replay" class="gm-panel">
  <div class="gm-head">{head}</div>
  <label>{team} <select id="gm-replay-device"></select></label>
  <label>{last} <select id="gm-replay-window">{options}</select></label>
  <button id="gm-replay-load" type="button">{load}</button>
  <div class="gm-row"><button id="gm-replay-play" type="button" disabled>▶</button>
    <input id="gm-replay-slider" type="range" min="0" max="1000" value="0" disabled>
    <select id="gm-replay-speed"><option>1</option><option selected>10</option>
      <option>60</option><option>300</option></select>×</div>
  <div id="gm-replay-time" class="gm-small">{empty}</div>
</div>"""


def _search_box(_: Translate) -> str:
    placeholder, label = escape(_("Find a place (any name)…")), escape(_("Find a place"))
    return f"""
<div id="gm-search" class="gm-panel gm-search">
  <input id="gm-search-input" type="search" placeholder="{placeholder}"
         autocomplete="off" aria-label="{label}">
  <ul id="gm-search-results" class="gm-list"></ul>
</div>"""


# Units of stored surfaces (geomon.spatial) in the reader's language; others show as stored.
SURFACE_UNITS = {
    "points per km2": N_("incidents per km²"),
    "relative cost per metre": N_("relative cost per metre"),
}


def _swatch(colour: str, label: str, layer: str, shape: str = "box") -> str:
    """A legend row of the layer with key ``layer`` (shown only while that layer is on)."""
    return (
        f'<div data-gm-layer="{layer}"><i class="gm-sw gm-{shape}" style="background:{colour}">'
        f"</i>{escape(label)}</div>"
    )


def legend_html(_: Translate) -> str:
    """The legend: teams, places, zones, corridors and the ArcGIS Gi* bins, each row tagged
    with its layer's key (geomon-layers.js shows the rows of the layers that are on); surface
    colour ramps are added there when a surface is switched on."""
    toggle, legend = escape(_("Show or hide the legend")), escape(_("Legend"))
    team, border = escape(_("Team (colour = agency, points along course)")), escape(_("Border"))
    hotspots = escape(_("Hotspots (Gi* bin)"))
    rows = [
        f'<div class="gm-head" id="gm-legend-head" title="{toggle}">{legend}</div>',
        '<div id="gm-legend-body">',
        f'<div data-gm-layer="teams"><i class="gm-sw gm-arrow"></i>{team}</div>',
        _swatch("#bdbdbd", _("Silent team (no recent fix)"), "teams", "dot"),
        f'<div data-gm-layer="borders"><i class="gm-sw gm-line" style="background:#b2182b">'
        f"</i>{border}</div>",
    ]
    rows += [_swatch(c, _(PLACE_LABELS[k]), "places", "dot") for k, c in PLACE_COLOURS.items()]
    rows += [
        _swatch(ZONE_COLOUR, _("Zone / geofence"), "zones"),
        _swatch(CORRIDOR_COLOUR, _("Corridor"), "corridors"),
        _swatch("#e6550d", _("Event (critical flashes)"), "events", "dot"),
        f'<div class="gm-sub" data-gm-layer="hotspots">{hotspots}</div>',
    ]
    rows += [
        _swatch(GI_BIN_COLOURS[b], _(GI_BIN_LABELS[b]), "hotspots")
        for b in (3, 2, 1, 0, -1, -2, -3)
    ]
    rows.append("</div>")
    return f'<div id="gm-legend" class="gm-panel gm-legend">{"".join(rows)}</div>'


def place_kind_names(locale: str) -> dict[str, str]:
    """Place kinds in ``locale`` (the page's JS shows them in popups)."""
    _ = translator(locale)
    return {k: _(v) for k, v in PLACE_LABELS.items()}


def surface_unit_names(locale: str) -> dict[str, str]:
    """Stored surface units → their name in ``locale`` (the legend's colour ramps)."""
    _ = translator(locale)
    return {k: _(v) for k, v in SURFACE_UNITS.items()}


def panels_html(locale: str = "en") -> str:
    _ = translator(locale)
    return _events_panel(_) + _replay_panel(_) + _search_box(_) + legend_html(_)
