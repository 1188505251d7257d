"""Raster surfaces (kernel density, risk, cost): PNG tiles, TileJSON and point values.

Tiles come from the stored GeoTIFF (path in ``surfaces``, relative paths under
``settings.data_dir``) reprojected to Web Mercator by :mod:`tiles.raster`, run in a worker
thread; the surface row is read under the caller's row-level security on every request, so
the shared cache never serves a tile of a surface the caller may not see.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path as FsPath
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.access import AUTH_RESPONSES, authenticated, data_connection
from api.conditional import not_modified
from geomon.errors import InvalidRequest
from geomon.store.tiles import get_surface
from tiles import raster

RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {"description": "Bad tile address, rescale or colormap."},
    404: {"description": "No such surface (or not visible), or its file is missing."},
    422: {"description": "A parameter has the wrong type or is out of range."},
}
router = APIRouter(tags=["surfaces"], responses=RESPONSES, dependencies=[Depends(authenticated)])
Conn = Annotated[psycopg.AsyncConnection, Depends(data_connection)]
SurfaceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Surface id.")]


def _path(request: Request, row: dict[str, Any]) -> FsPath:
    p = FsPath(str(row["path"]))
    return p if p.is_absolute() else FsPath(request.app.state.settings.data_dir) / p


def _rescale(text: str | None, path: FsPath, row: dict[str, Any]) -> tuple[float, float]:
    if text:
        try:
            vmin, vmax = (float(v) for v in text.split(","))
        except ValueError:
            raise HTTPException(400, "rescale must be two numbers MIN,MAX") from None
        if not vmin < vmax:
            raise HTTPException(400, f"rescale MIN must be below MAX, got {text}")
        return vmin, vmax
    params = row["params"] or {}
    if "vmin" in params and "vmax" in params:
        return float(params["vmin"]), float(params["vmax"])
    return raster.default_range(path)


@router.get("/tiles/surfaces/{surface_id}.json", summary="TileJSON 3.0.0 of a surface")
async def surface_tilejson(request: Request, conn: Conn, surface_id: SurfaceId) -> JSONResponse:
    row = await get_surface(conn, surface_id)
    info = await asyncio.to_thread(raster.surface_info, _path(request, row))
    base = str(request.base_url).rstrip("/")
    b = info["bounds"]
    return JSONResponse(
        {
            "tilejson": "3.0.0",
            "name": row["name"] or f"surface {surface_id}",
            "description": f"{row['kind']} surface ({row['units'] or 'no units'})",
            "scheme": "xyz",
            "tiles": [f"{base}/tiles/surfaces/{surface_id}/{{z}}/{{x}}/{{y}}.png"],
            "minzoom": info["minzoom"],
            "maxzoom": info["maxzoom"],
            "bounds": b,
            "center": [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, info["minzoom"]],
        }
    )  # type: ignore[index]


@router.get(
    "/tiles/surfaces/{surface_id}/{z}/{x}/{y}.png",
    summary="A PNG tile of a surface",
    responses={
        200: {"content": {"image/png": {}}, "description": "RGBA tile; nodata transparent."},
        304: {"description": "Not modified."},
    },
)
async def surface_tile(
    request: Request,
    conn: Conn,
    surface_id: SurfaceId,
    z: Annotated[int, Path(ge=0, le=24, description="Zoom level.")],
    x: Annotated[int, Path(ge=0, description="Tile column.")],
    y: Annotated[int, Path(ge=0, description="Tile row (north at 0).")],
    colormap: Annotated[str, Query(description="viridis, magma, reds or greys.")] = "viridis",
    rescale: Annotated[
        str | None,
        Query(
            description="MIN,MAX mapped to the ends of the colormap; default: the surface's range."
        ),
    ] = None,
) -> Response:
    if x >= 1 << z or y >= 1 << z:
        raise HTTPException(400, f"tile x and y must be within 0..{(1 << z) - 1} at zoom {z}")
    row = await get_surface(conn, surface_id)
    path = _path(request, row)
    if not path.exists():
        raise HTTPException(404, f"surface {surface_id}'s file is missing")
    vmin, vmax = _rescale(rescale, path, row)
    stat = path.stat()
    key = (
        "surface",
        surface_id,
        str(path),
        stat.st_mtime_ns,
        stat.st_size,
        z,
        x,
        y,
        vmin,
        vmax,
        colormap,
    )
    etag = '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    cache = request.app.state.tile_cache
    data = cache.get(key)
    if data is None:
        try:
            data = await asyncio.to_thread(raster.render_png, path, z, x, y, vmin, vmax, colormap)
        except InvalidRequest as exc:
            raise HTTPException(400, str(exc)) from exc
        cache.put(key, data)
    return Response(data, media_type="image/png", headers=headers)


@router.get("/surfaces/{surface_id}/point", summary="Surface value at a point")
async def surface_point(
    request: Request,
    conn: Conn,
    surface_id: SurfaceId,
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude (WGS 84).")],
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude (WGS 84).")],
) -> JSONResponse:
    row = await get_surface(conn, surface_id)
    value = await asyncio.to_thread(raster.value_at, _path(request, row), lon, lat)
    return JSONResponse(
        {
            "surface_id": surface_id,
            "lon": lon,
            "lat": lat,
            "value": value,
            "units": row["units"],
            "inside": value is not None,
        }
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
