"""The offline basemap as a folium layer: our vector tiles drawn by protomaps-leaflet.

A folium ``Layer`` (so the layer control lists it as a base layer) whose script calls
``geomon.basemapLayer`` (api/static/geomon-basemap.js): fills and lines in the tile pane,
labels in the reader's language in a pane above surfaces and polygons.
"""

from __future__ import annotations

from typing import Any

from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from api.map.assets import PROTOMAPS_JS, use_local_assets

BASEMAP_TILES = "/basemap/{z}/{x}/{y}.mvt"
SURFACE_PANE = "gm-surfaces"  # raster surfaces: above the basemap, below polygons and points
ATTRIBUTION = "Natural Earth"


class OfflineBasemap(JSCSSMixin, Layer):
    """The labelled basemap from ``/basemap`` (labels: ``name_ru`` for Russian)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = geomon.basemapLayer(
                {{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, name: str, locale: str, url: str = BASEMAP_TILES, **kwargs: Any) -> None:
        super().__init__(name=name, overlay=False, control=True, show=True)
        self._name = "OfflineBasemap"
        self.options = {"url": url, "locale": locale, "attribution": ATTRIBUTION, **kwargs}
        use_local_assets(self, PROTOMAPS_JS, [])
