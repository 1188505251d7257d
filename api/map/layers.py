"""The map's context layers: our own offline basemap, borders, zones, incidents,
the latest hotspot run, surfaces and corridors, plus the empty groups our JS fills.

Static layers are rendered by folium from data the route read; live groups (teams, trails,
places with lazily fetched observations, events, replay) are created empty and named so the
page's JavaScript can find them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import folium
from folium.plugins import FastMarkerCluster
from folium.template import Template

from api.map.assets import CLUSTER_CSS, CLUSTER_JS, use_local_assets
from api.map.basemap import SURFACE_PANE, OfflineBasemap
from api.map.layer_control import tag
from geomon.i18n import N_

# ArcGIS "Hot Spot Analysis" renderer: Gi_Bin -3…3 (three blues, not significant, three reds).
GI_BIN_COLOURS: dict[int, str] = {
    -3: "#4575b5",
    -2: "#849eba",
    -1: "#c0ccbe",
    0: "#d9d9d9",
    1: "#fab984",
    2: "#ed7551",
    3: "#d62f27",
}
GI_BIN_LABELS: dict[int, str] = {
    -3: N_("Cold spot, 99 %"),
    -2: N_("Cold spot, 95 %"),
    -1: N_("Cold spot, 90 %"),
    0: N_("Not significant"),
    1: N_("Hot spot, 90 %"),
    2: N_("Hot spot, 95 %"),
    3: N_("Hot spot, 99 %"),
}
ZONE_COLOUR = "#2c7fb8"
_RUN_SURFACE = re.compile(r"hotspot run (\d+) \((\w+)\)")  # geomon.analysis.hotspots' names
CORRIDOR_COLOUR = "#7b3294"


@dataclass
class MapData:
    """Everything the page renders server-side (read by the route from the store)."""

    borders: dict[str, Any]
    places: list[dict[str, Any]]
    zones: dict[str, Any] = field(default_factory=lambda: _empty())
    incidents: list[list[Any]] = field(default_factory=list)
    hotspots: dict[str, Any] = field(default_factory=lambda: _empty())
    corridors: dict[str, Any] = field(default_factory=lambda: _empty())
    surfaces: list[dict[str, Any]] = field(default_factory=list)
    teams: dict[str, Any] = field(default_factory=lambda: _empty())  # first live snapshot


def _empty() -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": []}


def _tooltip(collection: dict[str, Any], fields: list[str]) -> folium.GeoJsonTooltip | None:
    # folium refuses a tooltip field that no feature has (an empty collection on a new DB)
    return folium.GeoJsonTooltip(fields=fields) if collection["features"] else None


def add_base_layers(m: folium.Map, tile_url: str, locale: str) -> None:
    """Our own offline labelled basemap, and the agency's tiles when configured."""
    tag(OfflineBasemap(N_("Base: offline map"), locale), "base", "basemap").add_to(m)
    if tile_url:
        folium.TileLayer(
            tiles=tile_url,
            attr="agency tile server",
            name=N_("Base: agency tiles"),
            overlay=False,
            control=True,
            show=False,
        ).add_to(m)


def surface_label(s: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(msgid, params) of a surface layer's name: a hotspot run's density by its run."""
    run = _RUN_SURFACE.fullmatch(s["name"] or "")
    if run and run.group(2) == "kde":
        return N_("Incident density (KDE), run {id}"), {"id": int(run.group(1))}
    return N_("Surface: {name}"), {"name": s["name"] or s["kind"]}


def add_context_layers(m: folium.Map, data: MapData, surface_tile_url: str) -> None:
    """Borders, zones, incidents (clustered), hotspots, surfaces and corridors."""
    borders = folium.GeoJson(
        data.borders,
        name=N_("Borders"),
        style_function=lambda f: {"color": "#b2182b", "weight": 2.5, "dashArray": "6 3"},
        tooltip=_tooltip(data.borders, ["code"]),
    )
    tag(borders, "context", "borders").add_to(m)
    zones = folium.GeoJson(
        data.zones,
        name=N_("Zones"),
        style_function=lambda f: {"color": ZONE_COLOUR, "weight": 2, "fillOpacity": 0.12},
        tooltip=_tooltip(data.zones, ["name", "kind", "agency"]),
    )
    tag(zones, "context", "zones").add_to(m)
    _add_incidents(m, data.incidents)
    _add_hotspots(m, data.hotspots)
    for s in data.surfaces if surface_tile_url else []:
        # above the basemap, below polygons and points (pane made by geomon-basemap.js)
        layer = folium.TileLayer(
            tiles=surface_tile_url.replace("{id}", str(s["id"])),
            name=f"surface {s['id']}",
            attr="geomon",
            overlay=True,
            show=False,
            opacity=0.75,
            pane=SURFACE_PANE,
            max_zoom=18,
        )
        # (msgid, params): api/map/page.py translates the name for the page's language
        layer.geomon_label = surface_label(s)  # type: ignore[attr-defined]
        tag(layer, "analysis", "surface", int(s["id"])).add_to(m)
    corridors = folium.GeoJson(
        data.corridors,
        name=N_("Corridors"),
        show=bool(data.corridors["features"]),
        style_function=lambda f: {"color": CORRIDOR_COLOUR, "weight": 1.5, "fillOpacity": 0.25},
        tooltip=_tooltip(data.corridors, ["rank", "total_cost"]),
    )
    tag(corridors, "analysis", "corridors").add_to(m)


class BulkMarkerCluster(FastMarkerCluster):
    """folium's FastMarkerCluster, but the markers go in with one ``addLayers`` call (the
    plugin's bulk path: clusters are built once, not re-balanced per marker), clustered in
    chunks (``chunkedLoading``): 20,000 incidents took the page's start-up 1.5-2 s on a
    loaded host, now the page is ready while they cluster. ``geomon.incidentsClusteredAtMs``
    says when the last chunk was done (bench/map_latency.py)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function () {
                {{ this.callback }}
                var rows = {{ this.data|tojson }};
                var cluster = L.markerClusterGroup(Object.assign({{ this.options|tojavascript }},
                  { chunkProgress: function (done, total) {
                      if (done >= total && geomon.incidentsClusteredAtMs == null)
                        geomon.incidentsClusteredAtMs = performance.now(); } }));
                geomon.incidentsClusteredAtMs = rows.length ? null : 0;
                cluster.addLayers(rows.map(callback));
                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}""")

    def __init__(self, data: list[list[Any]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)  # type: ignore[no-untyped-call]  # folium: no annotations


def _add_incidents(m: folium.Map, rows: list[list[Any]]) -> None:
    cluster = BulkMarkerCluster(
        rows,
        name=N_("Incidents"),
        callback="function (row) { return geomon.incidentMarker(row); }",
        showCoverageOnHover=False,
        maxClusterRadius=50,
        chunkedLoading=True,
    )
    tag(use_local_assets(cluster, CLUSTER_JS, CLUSTER_CSS), "context", "incidents").add_to(m)


def _add_hotspots(m: folium.Map, cells: dict[str, Any]) -> None:
    def style(f: dict[str, Any]) -> dict[str, Any]:
        colour = GI_BIN_COLOURS.get(int(f["properties"].get("gi_bin") or 0), "#d9d9d9")
        return {"color": "#555", "weight": 0.3, "fillColor": colour, "fillOpacity": 0.7}

    layer = folium.GeoJson(
        cells,
        name=N_("Hotspots (latest Gi* run)"),
        show=bool(cells["features"]),  # no Gi* run: off, and its classes not in the legend
        style_function=style,
        tooltip=_tooltip(cells, ["gi_bin", "z", "p"]),
    )
    tag(layer, "analysis", "hotspots").add_to(m)


def add_live_groups(m: folium.Map) -> dict[str, str]:
    """Empty overlay groups the page's JS fills; returns {role: JS variable name}."""
    names = {}
    for role, label, show, grouped in (
        ("places", N_("Crossing points and ports"), True, "context"),
        ("trails", N_("Team trails"), True, "live"),
        ("events", N_("Events"), True, "live"),
        ("replay", N_("Track replay"), True, "live"),
    ):
        group = folium.FeatureGroup(name=label, show=show)
        tag(group, grouped, role).add_to(m)  # type: ignore[arg-type]
        names[role] = group.get_name()
    return names
