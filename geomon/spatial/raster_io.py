"""Reading and writing GeoTIFF arrays (the only module of geomon.spatial that uses rasterio)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS as RioCRS


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: array shape, affine transform and CRS (as WKT or EPSG string)."""

    array: np.ndarray
    transform: Affine
    crs: str
    nodata: float | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def cell_size(self) -> float:
        return float(self.transform.a)

    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.array.shape
        west, north = self.transform.c, self.transform.f
        return west, north + rows * self.transform.e, west + cols * self.transform.a, north


def write_geotiff(path: str | Path, grid: Grid, *, cog: bool = True) -> Path:
    """Write a single-band GeoTIFF; with ``cog`` a Cloud-Optimised GeoTIFF (tiled, overviews)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.asarray(grid.array)
    profile: dict[str, Any] = {
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype.name,
        "crs": RioCRS.from_user_input(grid.crs),
        "transform": grid.transform,
        "nodata": grid.nodata,
        "compress": "deflate",
    }
    if cog:
        profile["driver"] = "COG"
        profile["blocksize"] = 512
        profile["overview_resampling"] = "average"
    else:
        profile["driver"] = "GTiff"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        if grid.tags:
            dst.update_tags(**grid.tags)
    return path


def read_geotiff(path: str | Path) -> Grid:
    """Read band 1 of a GeoTIFF with its transform, CRS (WKT), nodata and tags."""
    with rasterio.open(path) as src:
        return Grid(
            array=src.read(1),
            transform=src.transform,
            crs=src.crs.to_wkt() if src.crs else "",
            nodata=src.nodata,
            tags=dict(src.tags()),
        )


def rasterize_geometries(
    geoms: Iterable[Any],
    shape: tuple[int, int],
    transform: Affine,
    *,
    all_touched: bool = True,
) -> np.ndarray:
    """Boolean mask of the cells covered by shapely geometries (same CRS as ``transform``)."""
    from rasterio import features

    shapes = [(g, 1) for g in geoms if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(shape, dtype=bool)
    out = features.rasterize(
        shapes,
        out_shape=shape,
        transform=transform,
        fill=0,
        dtype="uint8",
        all_touched=all_touched,
    )
    return out.astype(bool)


def polygonize(mask: np.ndarray, transform: Affine) -> list[Any]:
    """Shapely polygons (map coordinates) of the 8-connected True regions of a boolean mask."""
    from rasterio import features
    from shapely.geometry import shape as to_shape

    m = np.asarray(mask, dtype=np.uint8)
    return [
        to_shape(geom)
        for geom, value in features.shapes(
            m, mask=m.astype(bool), transform=transform, connectivity=8
        )
        if value == 1
    ]
