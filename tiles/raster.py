"""Raster tiles of stored surfaces (GeoTIFF): Web Mercator PNGs and point values.

A tile is read through a ``WarpedVRT`` to EPSG:3857 (bilinear, the source's nodata kept as
nodata), rescaled linearly to [vmin, vmax] (from the request, else the surface's band
statistics), coloured with a 256-entry ramp and written as RGBA PNG with nodata and areas
outside the raster fully transparent. rasterio is blocking: callers run these in a thread.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TypedDict

import morecantile
import numpy as np
import rasterio
from PIL import Image
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_bounds

from geomon.errors import InvalidRequest, NotFound

TMS = morecantile.tms.get("WebMercatorQuad")
TILE_SIZE = 256
# Anchor colours of the ramps (0 → 1), interpolated to 256 entries.
RAMPS: dict[str, list[tuple[int, int, int]]] = {
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "magma": [(0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)],
    "reds": [(255, 245, 240), (252, 187, 161), (251, 106, 74), (203, 24, 29), (103, 0, 13)],
    "greys": [(0, 0, 0), (255, 255, 255)],
}


def ramp(name: str) -> np.ndarray:
    """A (256, 3) uint8 colour table."""
    if name not in RAMPS:
        raise InvalidRequest(f"colormap must be one of {', '.join(RAMPS)}, not {name!r}")
    anchors = np.array(RAMPS[name], dtype=float)
    pos = np.linspace(0, 1, len(anchors))
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, pos, anchors[:, c]) for c in range(3)], axis=1).astype(np.uint8)


def open_surface(path: str | Path) -> rasterio.DatasetReader:
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise NotFound(f"surface file is missing or unreadable: {Path(path).name}") from exc


def default_range(path: str | Path) -> tuple[float, float]:
    """min/max of band 1 ignoring nodata (from an overview when there is one: cheap)."""
    with open_surface(path) as src:
        factor = (src.overviews(1) or [1])[-1]
        arr = src.read(
            1, masked=True, out_shape=(max(1, src.height // factor), max(1, src.width // factor))
        )
    vals = arr.compressed()
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return 0.0, 1.0
    return float(vals.min()), float(vals.max())


def ramp_colours(name: str, n: int = 9) -> list[str]:
    """``n`` evenly spaced colours of a ramp as #rrggbb, low to high (for legends)."""
    table = ramp(name)
    return ["#" + "".join(f"{int(c):02x}" for c in table[int(i)]) for i in np.linspace(0, 255, n)]


def render_png(
    path: str | Path,
    z: int,
    x: int,
    y: int,
    vmin: float,
    vmax: float,
    colormap: str = "viridis",
    *,
    zero_transparent: bool = False,
) -> bytes:
    """The RGBA PNG of tile z/x/y; transparent where the surface has no data, and where it
    is zero or less with ``zero_transparent`` (a density: nothing there, nothing drawn)."""
    table = ramp(colormap)
    bounds = TMS.xy_bounds(morecantile.Tile(x, y, z))
    dst_transform = from_bounds(
        bounds.left, bounds.bottom, bounds.right, bounds.top, TILE_SIZE, TILE_SIZE
    )
    with (
        open_surface(path) as src,
        WarpedVRT(
            src,
            crs="EPSG:3857",
            transform=dst_transform,
            width=TILE_SIZE,
            height=TILE_SIZE,
            resampling=Resampling.bilinear,
            src_nodata=src.nodata,
            nodata=np.nan,
            dtype="float64",
        ) as vrt,
    ):
        data = vrt.read(1, masked=True)
    values = np.ma.filled(data.astype("float64"), np.nan)
    valid = np.isfinite(values) & ~np.ma.getmaskarray(data)
    if zero_transparent:
        valid &= values > 0
    span = vmax - vmin if vmax > vmin else 1.0
    idx = np.clip((values - vmin) / span * 255, 0, 255)
    idx = np.where(valid, idx, 0).astype(np.uint8)
    rgba = np.zeros((TILE_SIZE, TILE_SIZE, 4), dtype=np.uint8)
    rgba[..., :3] = table[idx]
    rgba[..., 3] = np.where(valid, 255, 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def value_at(path: str | Path, lon: float, lat: float) -> float | None:
    """The surface value of the cell under (lon, lat); None off the raster or on nodata."""
    with open_surface(path) as src:
        xs, ys = warp_transform("EPSG:4326", src.crs, [lon], [lat])
        row, col = src.index(xs[0], ys[0])
        if not (0 <= row < src.height and 0 <= col < src.width):
            return None
        v = src.read(1, window=((row, row + 1), (col, col + 1)), masked=True)[0, 0]
    if v is np.ma.masked or not math.isfinite(float(v)):
        return None
    return float(v)


class SurfaceInfo(TypedDict):
    bounds: list[float]  # west, south, east, north (degrees)
    minzoom: int
    maxzoom: int


def surface_info(path: str | Path) -> SurfaceInfo:
    """Bounds (lon/lat), a sensible zoom range and the value range for TileJSON."""
    with open_surface(path) as src:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        cell_m = abs(src.transform.a) if src.crs.is_projected else abs(src.transform.a) * 111_320
    native = max(0, min(22, round(math.log2(40_075_016 / (TILE_SIZE * cell_m)))))
    return {
        "bounds": [float(west), float(south), float(east), float(north)],
        "minzoom": max(0, native - 8),
        "maxzoom": min(22, native + 2),
    }
