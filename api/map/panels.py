"""HTML of the map's panels (events, replay, search, legend). geomon-panels.js moves each
into a Leaflet control so they stay on the map in fullscreen."""

from __future__ import annotations

from html import escape

from api.map.layers import CORRIDOR_COLOUR, GI_BIN_COLOURS, GI_BIN_LABELS, ZONE_COLOUR

PLACE_COLOURS = {
    "road_bcp": "#d62728",
    "rail_bcp": "#9467bd",
    "air_bcp": "#e377c2",
    "dry_port": "#ff7f0e",
    "seaport": "#17becf",
    "office": "#1f77b4",
}
PLACE_LABELS = {
    "road_bcp": "Road crossing point",
    "rail_bcp": "Rail crossing point",
    "air_bcp": "Airport crossing point",
    "dry_port": "Dry port",
    "seaport": "Seaport",
    "office": "Office / border post",
}

EVENTS_PANEL = """
<div id="gm-events" class="gm-panel">
  <div class="gm-head">Events <span id="gm-events-count" class="gm-badge">0</span>
    <span id="gm-alarm" class="gm-alarm" hidden>CRITICAL</span></div>
  <ul id="gm-events-list" class="gm-list"></ul>
</div>"""

REPLAY_PANEL = """
<div id="gm-replay" class="gm-panel">
  <div class="gm-head">Track replay</div>
  <label>Team <select id="gm-replay-device"></select></label>
  <label>Last <select id="gm-replay-window">
    <option value="900">15 min</option><option value="3600" selected>1 h</option>
    <option value="21600">6 h</option><option value="86400">24 h</option></select></label>
  <button id="gm-replay-load" type="button">Load</button>
  <div class="gm-row"><button id="gm-replay-play" type="button" disabled>▶</button>
    <input id="gm-replay-slider" type="range" min="0" max="1000" value="0" disabled>
    <select id="gm-replay-speed"><option>1</option><option selected>10</option>
      <option>60</option><option>300</option></select>×</div>
  <div id="gm-replay-time" class="gm-small">no track loaded</div>
</div>"""

SEARCH_BOX = """
<div id="gm-search" class="gm-panel gm-search">
  <input id="gm-search-input" type="search" placeholder="Find a place (any name)…"
         autocomplete="off" aria-label="Find a place">
  <ul id="gm-search-results" class="gm-list"></ul>
</div>"""


def _swatch(colour: str, label: str, shape: str = "box") -> str:
    return f'<div><i class="gm-sw gm-{shape}" style="background:{colour}"></i>{escape(label)}</div>'


def legend_html() -> str:
    """The legend: teams, places, zones, corridors and the ArcGIS Gi* bins."""
    rows = [
        '<div class="gm-head" id="gm-legend-head" title="Show or hide the legend">Legend</div>',
        '<div id="gm-legend-body">',
        '<div><i class="gm-sw gm-arrow"></i>Team (colour = agency, points along course)</div>',
        _swatch("#bdbdbd", "Silent team (no recent fix)", "dot"),
        '<div><i class="gm-sw gm-line" style="background:#b2182b"></i>Border</div>',
    ]
    rows += [_swatch(c, PLACE_LABELS[k], "dot") for k, c in PLACE_COLOURS.items()]
    rows += [
        _swatch(ZONE_COLOUR, "Zone / geofence"),
        _swatch(CORRIDOR_COLOUR, "Corridor"),
        _swatch("#e6550d", "Event (critical flashes)", "dot"),
        '<div class="gm-sub">Hotspots (Gi* bin)</div>',
    ]
    rows += [_swatch(GI_BIN_COLOURS[b], GI_BIN_LABELS[b]) for b in (3, 2, 1, 0, -1, -2, -3)]
    rows.append("</div>")
    return f'<div id="gm-legend" class="gm-panel gm-legend">{"".join(rows)}</div>'


def panels_html() -> str:
    return EVENTS_PANEL + REPLAY_PANEL + SEARCH_BOX + legend_html()
