"""Reading and writing GeoTIFF arrays (the only module of geomon.spatial that uses rasterio)."""

from __future__ import annotations

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
