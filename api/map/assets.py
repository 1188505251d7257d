"""Where the map's scripts and styles come from: our own server, never a CDN.

folium elements carry ``default_js``/``default_css`` lists pointing at CDNs; every element the
page uses gets its lists replaced here with URLs under /static/vendor/ (npm packages served by
api/routes/static.py) or /static/app/ (our own files).
"""

from __future__ import annotations

from typing import Any

from api.routes.static import vendor_url

Assets = list[tuple[str, str]]

LEAFLET_JS: Assets = [("leaflet", vendor_url("leaflet", "leaflet.js"))]
LEAFLET_CSS: Assets = [("leaflet_css", vendor_url("leaflet", "leaflet.css"))]
REALTIME_JS: Assets = [("leaflet_realtime", vendor_url("leaflet-realtime", "leaflet-realtime.js"))]
CLUSTER_JS: Assets = [
    ("markerclusterjs", vendor_url("leaflet.markercluster", "leaflet.markercluster.js"))
]
CLUSTER_CSS: Assets = [
    ("markerclustercss", vendor_url("leaflet.markercluster", "MarkerCluster.css")),
    ("markerclusterdefaultcss", vendor_url("leaflet.markercluster", "MarkerCluster.Default.css")),
]
FULLSCREEN_JS: Assets = [
    ("Control.Fullscreen.js", vendor_url("leaflet.fullscreen", "Control.FullScreen.js"))
]
FULLSCREEN_CSS: Assets = [
    ("Control.FullScreen.css", vendor_url("leaflet.fullscreen", "Control.FullScreen.css"))
]
PROTOMAPS_JS: Assets = [
    ("protomaps_leaflet", vendor_url("protomaps-leaflet", "protomaps-leaflet.js"))
]
OWN_JS = (
    "/static/app/geomon-i18n.js",
    "/static/app/geomon-basemap.js",
    "/static/app/geomon-map.js",
    "/static/app/geomon-panels.js",
    "/static/app/geomon-events.js",
    "/static/app/geomon-coverage.js",
    "/static/app/geomon-teams.js",
    "/static/app/geomon-desk.js",
    "/static/app/geomon-dashboard.js",
    "/static/app/geomon-analysis.js",
    "/static/app/geomon-forecast.js",
    "/static/app/geomon-admin.js",
    "/static/app/geomon-links.js",
    "/static/app/geomon-layers.js",  # after geomon-panels.js: wraps geomon.start
    "/static/app/geomon-spread.js",
)
OWN_CSS = ("/static/app/geomon-map.css",)
# npm packages of the console (dashboard charts, drawing areas and zones): loaded with
# ``defer`` so they run after Leaflet (folium puts its own scripts after ours in <head>).
CONSOLE_JS = (
    vendor_url("chart.js", "chart.umd.min.js"),
    vendor_url("leaflet-geoman", "leaflet-geoman.min.js"),
)
CONSOLE_CSS = (vendor_url("leaflet-geoman", "leaflet-geoman.css"),)


def use_local_assets(element: Any, js: Assets, css: Assets) -> Any:
    """Point ``element``'s scripts and styles at our origin; returns the element."""
    element.default_js = js
    element.default_css = css
    return element
