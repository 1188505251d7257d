"""Choosing a metric CRS for an area of interest (pyproj), and transforming coordinates.

All geometries are stored in EPSG:4326; distances and areas are measured in the CRS chosen
here and the choice is recorded with every result.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from geomon.errors import SpatialError

# Above this width a single UTM zone distorts distances by more than ~1 %; use an equal-area
# Lambert azimuthal projection centred on the area instead.
MAX_UTM_SPAN_DEG = 12.0


def metric_crs_for_bbox(west: float, south: float, east: float, north: float) -> CRS:
    """A metric CRS suitable for the lon/lat bounding box: its UTM zone (WGS 84) when the
    area fits in about two zones, otherwise a Lambert azimuthal equal-area centred on it."""
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise SpatialError(f"not a lon/lat bbox: {west},{south},{east},{north}")
    if east - west <= MAX_UTM_SPAN_DEG:
        infos = query_utm_crs_info(
            datum_name="WGS 84",
            area_of_interest=AreaOfInterest(west, south, east, north),
        )
        centre = (west + east) / 2
        for info in infos:
            if info.code.startswith(("326", "327")):
                zone = int(info.code[3:])
                if -180 + (zone - 1) * 6 <= centre < -180 + zone * 6:
                    return CRS.from_epsg(int(info.code))
        if infos:
            return CRS.from_epsg(int(infos[0].code))
    lon0 = (west + east) / 2
    lat0 = (south + north) / 2
    return CRS.from_proj4(f"+proj=laea +lat_0={lat0:.4f} +lon_0={lon0:.4f} +datum=WGS84 +units=m")


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def transform_xy(
    x: np.ndarray, y: np.ndarray, src: str | CRS, dst: str | CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised coordinate transform with x/y (lon/lat) axis order."""
    tr = _transformer(CRS.from_user_input(src).to_wkt(), CRS.from_user_input(dst).to_wkt())
    xx, yy = tr.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(xx), np.asarray(yy)
