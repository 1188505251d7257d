"""Roads and tracks from an OpenStreetMap extract (``.osm.pbf`` or ``.osm``) for the basemap.

GDAL's OSM driver (through pyogrio) reads the extract's ``lines`` layer; every way with a
``highway`` tag becomes a road with its class, its name and its Russian name (``name:ru`` from
the other tags), shown from a zoom that depends on the class. Pure: reads a file, returns
records (geomon.store.basemap loads them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyogrio.raw
import shapely

from geomon.basemap import ContextFeature

OSM_SOURCE = "OpenStreetMap extract (ODbL), via geomon basemap import-osm"
# highway class → the display zoom a road shows from
ROAD_MINZOOM = {
    "motorway": 5,
    "trunk": 5,
    "primary": 6,
    "secondary": 8,
    "tertiary": 9,
}
MINOR_MINZOOM = 11  # unclassified, residential, track, path…
_NAME_RU = re.compile(r'"name:ru"=>"((?:[^"\\]|\\.)*)"')


def road_minzoom(highway: str) -> int:
    return ROAD_MINZOOM.get(highway.removesuffix("_link"), MINOR_MINZOOM)


def read_osm_roads(path: Path) -> Iterator[ContextFeature]:
    """The ways of ``path`` with a ``highway`` tag, as basemap ``road`` features."""
    meta, _, geoms, cols = pyogrio.raw.read(path, layer="lines")
    fields = list(meta["fields"])
    highway, name, other = (cols[fields.index(f)] for f in ("highway", "name", "other_tags"))
    for i, wkb in enumerate(geoms):
        if not highway[i] or wkb is None:
            continue
        tags = other[i] or ""
        ru = _NAME_RU.search(tags)
        yield ContextFeature(
            layer="road",
            name=str(name[i] or ""),
            name_ru=ru.group(1) if ru else None,
            kind=str(highway[i]),
            rank=float(road_minzoom(str(highway[i]))),
            minzoom=road_minzoom(str(highway[i])),
            value=None,
            geometry=shapely.geometry.mapping(shapely.from_wkb(wkb)),
        )
