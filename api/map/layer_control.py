"""The map's layer control: Leaflet's, with the layers in groups (base / live / analysis /
context) under translated headings (api/static/geomon-layers.js).

Each folium layer may carry ``geomon_group`` and ``geomon_key`` (see :func:`tag`); the control's
script sets them on the Leaflet layers as ``gmGroup`` / ``gmKey`` (the legend shows the rows of
the layers that are on by their key) and ``gmSurfaceId`` for surface tile layers.
"""

from __future__ import annotations

from typing import Any, Literal

import folium
from folium.template import Template

Group = Literal["base", "live", "analysis", "context"]


def tag(layer: Any, group: Group, key: str, surface_id: int | None = None) -> Any:
    """Mark ``layer`` for the grouped control and the legend; returns the layer."""
    layer.geomon_group, layer.geomon_key, layer.geomon_surface = group, key, surface_id
    return layer


class GroupedLayerControl(folium.LayerControl):
    """folium's LayerControl made with ``geomon.groupedLayers`` and the layers' tags."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }}_layers = {
                base_layers : {
                    {%- for key, val in this.base_layers.items() %}
                    {{ key|tojson }} : {{ val }},
                    {%- endfor %}
                },
                overlays : {
                    {%- for key, val in this.overlays.items() %}
                    {{ key|tojson }} : {{ val }},
                    {%- endfor %}
                },
            };
            {%- for var, t in this.tags.items() %}
            {{ var }}.gmGroup = {{ t[0]|tojson }}; {{ var }}.gmKey = {{ t[1]|tojson }};
            {%- if t[2] is not none %} {{ var }}.gmSurfaceId = {{ t[2]|tojson }};
            {{ var }}.gmName = {{ t[3]|tojson }};{% endif %}
            {%- endfor %}
            let {{ this.get_name() }} = geomon.groupedLayers(
                {{ this.get_name() }}_layers.base_layers,
                {{ this.get_name() }}_layers.overlays,
                {{ this.options|tojavascript }}
            ).addTo({{ this._parent.get_name() }});
            geomon.layerControl = {{ this.get_name() }};
        {% endmacro %}
        """)

    def render(self, **kwargs: Any) -> Any:
        parent = self._parent
        assert parent is not None  # rendered only as a child of the map
        self.tags: dict[str, tuple[str, str, int | None, str]] = {}
        item: Any
        for item in parent._children.values():
            if getattr(item, "geomon_group", None):
                self.tags[item.get_name()] = (
                    item.geomon_group,
                    item.geomon_key,
                    item.geomon_surface,
                    getattr(item, "layer_name", ""),
                )
        return super().render(**kwargs)  # type: ignore[no-untyped-call]  # folium: no annotations
