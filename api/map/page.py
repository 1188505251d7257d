"""The situation map: a server-rendered folium page whose every asset comes from our origin.

folium loads Leaflet and its plugins from CDNs by default; api/map/assets.py replaces each
element's asset list with URLs under /static/. Live teams are a ``folium.plugins.Realtime``
layer fed either by the live SSE stream (snapshot, then changes) when the app serves one, or
by polling the latest-positions GeoJSON; popups are refreshed from the feature on every
update. Our own JS (api/static/) adds trails, follow, events, replay, search and tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import CssLink, Figure, JavascriptLink
from folium.plugins import Fullscreen, Realtime
from folium.utilities import JsCode

from api.map.assets import (
    CONSOLE_CSS,
    CONSOLE_JS,
    FULLSCREEN_CSS,
    FULLSCREEN_JS,
    LEAFLET_CSS,
    LEAFLET_JS,
    OWN_CSS,
    OWN_JS,
    REALTIME_JS,
    use_local_assets,
)
from api.map.layer_control import GroupedLayerControl, tag
from api.map.layers import MapData, add_base_layers, add_context_layers, add_live_groups
from api.map.panels import PLACE_COLOURS, panels_html, place_kind_names, surface_unit_names
from geomon.alerts.texts import event_titles
from geomon.i18n import available_locales, js_messages, language_name, translator
from geomon.settings import ApiSettings

CENTRE = (41.0, 67.0)  # Central Asia


@dataclass(frozen=True)
class MapUrls:
    """The endpoints the page talks to (switch here when general resources land)."""

    latest: str = "/api/v1/devices/latest"
    live_sse: str = "/api/v1/live"  # snapshot, then positions/events; empty = poll ``latest``
    events: str = "/api/v1/map/events"  # unresolved events after an id (the panel's backlog)
    ack: str = "/api/v1/events/{id}/acknowledge"
    track: str = "/api/v1/map/track/{id}"
    place_observations: str = "/api/v1/map/places/{id}/observations"
    surface_tiles: str = "/tiles/surfaces/{id}/{z}/{x}/{y}.png"  # empty = no surface layers
    preferences: str = "/api/v1/me/preferences"  # the language switch saves here


def _live_layer(settings: ApiSettings, urls: MapUrls, locale: str) -> Realtime:
    silent, _ = settings.silent_after_s, translator(locale)
    live = Realtime(
        urls.latest,
        start=not urls.live_sse,
        interval=settings.live_poll_ms,
        get_feature_id=JsCode("function (f) { return f.id; }"),
        point_to_layer=JsCode(f"geomon.pointToLayer({silent})"),
        update_feature=JsCode(f"geomon.updateFeature({silent})"),
        remove_missing=False,
    )
    live.layer_name = _("Teams (live)")  # Realtime ignores name=: the control showed its id
    tag(live, "live", "teams")
    use_local_assets(live, REALTIME_JS, [])
    return live


def _i18n_config(locale: str, time_zone: str) -> dict[str, Any]:
    """What geomon-i18n.js needs: the catalogue's messages, event titles, zone, languages."""
    return {
        "locale": locale,
        "timeZone": time_zone,
        "messages": js_messages(locale),
        "eventTitles": event_titles(locale),
        "languages": [{"code": c, "name": language_name(c)} for c in available_locales()],
    }


def _page_config(
    settings: ApiSettings, urls: MapUrls, data: MapData, locale: str, time_zone: str
) -> dict[str, Any]:
    return {
        "i18n": _i18n_config(locale, time_zone),
        # teams are on the first paint; the live stream or polling then keeps them current
        "initialTeams": data.teams,
        "silentAfterS": settings.silent_after_s,
        "pollMs": settings.live_poll_ms,
        "urls": {
            "latest": urls.latest,
            "liveSse": urls.live_sse,
            "events": urls.events,
            "ack": urls.ack,
            "track": urls.track,
            "placeObs": urls.place_observations,
            "preferences": urls.preferences,
        },
        "places": data.places,
        "placeColours": PLACE_COLOURS,
        "placeKinds": place_kind_names(locale),
        "surfaceUnits": surface_unit_names(locale),
    }


def _boot_script(
    m: folium.Map,
    live: Realtime,
    groups: dict[str, str],
    config: dict[str, Any],
    layer_control: folium.LayerControl,
) -> str:
    group_js = ", ".join(f"{role}: {name}" for role, name in groups.items())
    # folium's map script runs at the end of <body>; start once every inline script ran
    map_js, live_js = m.get_name(), live.get_name()
    config_js = json.dumps(config).replace("</", "<\\/")
    return (
        "<script>document.addEventListener('DOMContentLoaded', function () {\n"
        f"window.geomonMap = {map_js}; window.geomonLive = {live_js};\n"
        f"geomon.setI18n({config_js}.i18n);\n"
        f"geomon.start({map_js}, {live_js}, {config_js}, {{{group_js}}});\n"
        f"geomon.initCoverage({map_js}, {layer_control.get_name()}); }});</script>"
    )


def _translate_layer_names(m: folium.Map, locale: str) -> None:
    """Layer names are marked with N_() in layers.py; show them in the reader's language."""
    _ = translator(locale)
    child: Any
    for child in m._children.values():
        label = getattr(child, "geomon_label", None)  # (msgid, params) for names with data
        name = getattr(child, "layer_name", None)
        if label is not None:
            child.layer_name = _(label[0], **label[1])
        elif isinstance(name, str):
            child.layer_name = _(name)


def render_map(
    settings: ApiSettings,
    data: MapData,
    urls: MapUrls | None = None,
    *,
    locale: str = "en",
    time_zone: str = "UTC",
) -> str:
    """The full HTML of the situation map in ``locale``, times shown in ``time_zone``."""
    urls = urls or MapUrls()
    _ = translator(locale)
    m = folium.Map(location=CENTRE, zoom_start=5, tiles=None, control_scale=True)
    m.options.update(maxZoom=18, minZoom=3)  # folium drops these without a tile layer
    use_local_assets(m, LEAFLET_JS, LEAFLET_CSS)
    add_base_layers(m, settings.tile_url, locale)
    add_context_layers(m, data, urls.surface_tiles)
    groups = add_live_groups(m)
    _translate_layer_names(m, locale)
    live = _live_layer(settings, urls, locale)
    live.add_to(m)
    use_local_assets(Fullscreen(position="topleft"), FULLSCREEN_JS, FULLSCREEN_CSS).add_to(m)
    layer_control = GroupedLayerControl(collapsed=True, position="topright")
    layer_control.add_to(m)
    root = m.get_root()
    assert isinstance(root, Figure)  # a folium Map is always the child of a Figure
    for url in OWN_JS:
        root.header.add_child(JavascriptLink(url))
    root.header.add_child(folium.Element('<link rel="icon" href="data:,">'))  # no favicon fetch
    for url in OWN_CSS + CONSOLE_CSS:
        root.header.add_child(CssLink(url))
    for url in CONSOLE_JS:
        root.header.add_child(folium.Element(f'<script defer src="{url}"></script>'))
    config = _page_config(settings, urls, data, locale, time_zone)
    root.html.add_child(folium.Element(panels_html(locale)))
    root.html.add_child(folium.Element(_boot_script(m, live, groups, config, layer_control)))
    root.title = _("geomon — situation map")
    return root.render()
