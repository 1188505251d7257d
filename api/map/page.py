"""The situation map: a server-rendered folium page whose every asset comes from our origin.

folium loads Leaflet, jQuery, Bootstrap and plugins from CDNs by default; we replace each
element's asset list with URLs under /static/vendor/ (npm packages installed by the setup
scripts). Live teams are a ``folium.plugins.Realtime`` layer polling the latest-positions
GeoJSON; popups are refreshed from the feature on every update.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import CssLink, JavascriptLink
from folium.plugins import Realtime
from folium.utilities import JsCode

from api.routes.static import vendor_url
from geomon.settings import ApiSettings

CENTRE = (41.0, 67.0)  # Central Asia
PLACE_COLOURS = {"road_bcp": "#d62728", "rail_bcp": "#9467bd", "dry_port": "#ff7f0e"}


def _local_assets(element: Any, js: list[tuple[str, str]], css: list[tuple[str, str]]) -> None:
    element.default_js = js
    element.default_css = css


def _tooltip(collection: dict, field: str) -> folium.GeoJsonTooltip | None:
    # folium refuses a tooltip field that no feature has (an empty collection on a new DB)
    return folium.GeoJsonTooltip(fields=[field], labels=False) if collection["features"] else None


def _reference_layers(m: folium.Map, countries: dict, borders: dict,
                      places: list[dict[str, Any]]) -> None:
    folium.GeoJson(
        countries, name="Countries",
        style_function=lambda f: {"color": "#9e9e9e", "weight": 1, "fillColor": "#f4f1e8",
                                  "fillOpacity": 1.0},
        tooltip=_tooltip(countries, "name"),
    ).add_to(m)
    folium.GeoJson(
        borders, name="Borders",
        style_function=lambda f: {"color": "#b2182b", "weight": 2.5, "dashArray": "6 3"},
        tooltip=_tooltip(borders, "code"),
    ).add_to(m)
    group = folium.FeatureGroup(name="Crossing points and ports")
    for p in places:
        folium.CircleMarker(
            (p["lat"], p["lon"]), radius=5, weight=1, color="#333",
            fill=True, fill_opacity=0.9, fill_color=PLACE_COLOURS.get(p["kind"], "#1f77b4"),
            tooltip=p["name"],
            popup=folium.Popup(
                f"<b>{folium.utilities.escape_backticks(p['name'])}</b><br>{p['kind']} · "
                f"{p['countries']}<br>position within ~{p['accuracy_m'] or '?'} m",
                max_width=300,
            ),
        ).add_to(group)
    group.add_to(m)


def render_map(settings: ApiSettings, *, countries: dict, borders: dict,
               places: list[dict[str, Any]], live_url: str = "/api/v1/devices/latest") -> str:
    """The full HTML of the situation map."""
    m = folium.Map(location=CENTRE, zoom_start=5, tiles=None, prefer_canvas=False,
                   control_scale=True)
    _local_assets(m, [("leaflet", vendor_url("leaflet", "leaflet.js"))],
                  [("leaflet_css", vendor_url("leaflet", "leaflet.css"))])
    if settings.tile_url:
        folium.TileLayer(tiles=settings.tile_url, attr="agency tile server", name="Base map").add_to(m)
    _reference_layers(m, countries, borders, places)
    silent = settings.silent_after_s
    live = Realtime(
        live_url,
        name="Teams (live)",
        interval=settings.live_poll_ms,
        get_feature_id=JsCode("function (f) { return f.id; }"),
        point_to_layer=JsCode(f"geomon.pointToLayer({silent})"),
        update_feature=JsCode(f"geomon.updateFeature({silent})"),
        remove_missing=False,
    )
    _local_assets(live, [("leaflet_realtime", vendor_url("leaflet-realtime", "leaflet-realtime.js"))], [])
    live.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    root = m.get_root()
    root.header.add_child(JavascriptLink("/static/app/geomon-map.js"))
    root.header.add_child(CssLink("/static/app/geomon-map.css"))
    root.html.add_child(folium.Element(
        f"<script>window.geomonMap = {m.get_name()}; window.geomonLive = {live.get_name()};</script>"
    ))
    root.title = "geomon — situation map"
    return root.render()
