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
import shapely
from fastapi import APIRouter, BackgroundTasks, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, model_validator

from api.common import AUTH_RESPONSES, BorderCode, Iso3, UtcTime, json_response, reject_nul
from api.common import RESPONSES as API_RESPONSES
from api.conditional import not_modified
from api.deps import Analyst, ReadConn, agency_of
from api.errors import error_route
from api.jobs import JobId, jobs_of, start
from api.state import app_state
from geomon.analysis.region_surface import RegionSurfaceSpec, build_region_surface, region_grid
from geomon.errors import GeomonError, InvalidRequest, NotFound
from geomon.spatial.surfaces import SurfaceWeights
from geomon.store import surfaces as surface_store
from geomon.store.tiles import get_surface
from tiles import raster

RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {"description": "Bad tile address, rescale or colormap."},
    404: {"description": "No such surface (or not visible), or its file is missing."},
    422: {"description": "A parameter has the wrong type or is out of range."},
}
# tiles and values, at the root; a bad tile address, rescale or colormap is a 400 there
router = APIRouter(
    tags=["surfaces"], responses=RESPONSES, route_class=error_route({InvalidRequest: 400})
)
api_router = APIRouter(tags=["surfaces"], responses=API_RESPONSES)  # under /api/v1
MAX_CELLS = 2_000_000  # per API-built surface: a few seconds and ~100 MB at most
SurfaceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Surface id.")]
DEFAULT_COLORMAP = "viridis"
ZERO_TRANSPARENT_KINDS = ("kde",)  # densities: zero means nothing there, so nothing is drawn


def _zero_transparent(row: dict[str, Any]) -> bool:
    return row["kind"] in ZERO_TRANSPARENT_KINDS


def _path(request: Request, row: dict[str, Any]) -> FsPath:
    p = FsPath(str(row["path"]))
    return p if p.is_absolute() else FsPath(app_state(request).settings.data_dir) / p


def _rescale(text: str | None, path: FsPath, row: dict[str, Any]) -> tuple[float, float]:
    if text:
        try:
            vmin, vmax = (float(v) for v in text.split(","))
        except ValueError:
            raise InvalidRequest("rescale must be two numbers MIN,MAX") from None
        if not vmin < vmax:
            raise InvalidRequest(f"rescale MIN must be below MAX, got {text}")
        return vmin, vmax
    params = row["params"] or {}
    if "vmin" in params and "vmax" in params:
        return float(params["vmin"]), float(params["vmax"])
    return raster.default_range(path)


@router.get("/tiles/surfaces/{surface_id:int}.json", summary="TileJSON 3.0.0 of a surface")
async def surface_tilejson(request: Request, conn: ReadConn, surface_id: SurfaceId) -> JSONResponse:
    row = await get_surface(conn, surface_id)
    path = _path(request, row)
    info = await asyncio.to_thread(raster.surface_info, path)
    vmin, vmax = await asyncio.to_thread(_rescale, None, path, row)
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
            # for the map's legend: what the default tile colours mean
            "geomon:range": [vmin, vmax],
            "geomon:units": row["units"] or "",
            "geomon:colours": raster.ramp_colours(DEFAULT_COLORMAP),
            "geomon:zero_transparent": _zero_transparent(row),
        }
    )


@router.get(
    "/tiles/surfaces/{surface_id:int}/{z:int}/{x:int}/{y:int}.png",
    summary="A PNG tile of a surface",
    responses={
        200: {"content": {"image/png": {}}, "description": "RGBA tile; nodata transparent."},
        304: {"description": "Not modified."},
    },
)
async def surface_tile(
    request: Request,
    conn: ReadConn,
    surface_id: SurfaceId,
    z: Annotated[int, Path(ge=0, le=24, description="Zoom level.")],
    x: Annotated[int, Path(ge=0, description="Tile column.")],
    y: Annotated[int, Path(ge=0, description="Tile row (north at 0).")],
    colormap: Annotated[
        str, Query(description="viridis, magma, reds or greys.")
    ] = DEFAULT_COLORMAP,
    rescale: Annotated[
        str | None,
        Query(
            description="MIN,MAX mapped to the ends of the colormap; default: the surface's range."
        ),
    ] = None,
) -> Response:
    if x >= 1 << z or y >= 1 << z:
        raise InvalidRequest(f"tile x and y must be within 0..{(1 << z) - 1} at zoom {z}")
    row = await get_surface(conn, surface_id)
    path = _path(request, row)
    if not path.exists():
        raise NotFound(f"surface {surface_id}'s file is missing")
    vmin, vmax = _rescale(rescale, path, row)
    zero_clear = _zero_transparent(row)
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
        zero_clear,
    )
    etag = '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    cache = app_state(request).tile_cache
    data = cache.get(key)
    if data is None:
        data = await asyncio.to_thread(
            raster.render_png, path, z, x, y, vmin, vmax, colormap, zero_transparent=zero_clear
        )
        cache.put(key, data)
    return Response(data, media_type="image/png", headers=headers)


@router.get("/surfaces/{surface_id:int}/point", summary="Surface value at a point")
async def surface_point(
    request: Request,
    conn: ReadConn,
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


# --------------------------------------------------------------------------- built from the API


class SurfaceIn(BaseModel):
    """A risk/cost surface of a region from the live layers (docs/corridors.md)."""

    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="W,S,E,N in degrees (at most 8° each way)."
    )
    country: Iso3 | None = None
    border: BorderCode | None = Field(default=None, description="Region = border buffer.")
    buffer_km: float | None = Field(default=None, gt=0, le=300)
    cell_size_m: float = Field(default=1000.0, ge=250, le=50_000)
    weights: dict[str, float | bool] = Field(
        default_factory=dict, description="SurfaceWeights fields."
    )
    dem_seed: int = Field(default=7, ge=0, le=2**31 - 1, description="Synthetic DEM seed.")
    incident_category: str | None = Field(default=None, max_length=100)
    hotspot_surface_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    patrol_since: UtcTime | None = None
    patrol_until: UtcTime | None = None
    name: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _check(self) -> SurfaceIn:
        if self.bbox is not None:
            w, s, e, n = self.bbox
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90 and e - w <= 8 and n - s <= 8):
                raise ValueError("bbox must be W,S,E,N with W<E, S<N, at most 8° each way")
        try:
            SurfaceWeights(**self.weights)  # type: ignore[arg-type]
        except (GeomonError, TypeError) as exc:
            raise ValueError(f"weights: {exc}") from None
        for t in (self.patrol_since, self.patrol_until):
            if t is not None and t.tzinfo is None:
                raise ValueError("times need a time zone offset (e.g. Z)")
        return self


@api_router.post("/surfaces", status_code=202, summary="Build a risk surface of a region (job)")
async def create_surface(
    body: SurfaceIn, request: Request, tasks: BackgroundTasks, principal: Analyst
) -> JSONResponse:
    reject_nul(body.model_dump(mode="json"))
    spec = RegionSurfaceSpec(
        bbox=body.bbox,
        country=body.country,
        border=body.border,
        buffer_km=body.buffer_km,
        cell_size_m=body.cell_size_m,
        weights=dict(body.weights),
        dem_seed=body.dem_seed,
        incident_category=body.incident_category,
        hotspot_surface_id=body.hotspot_surface_id,
        patrol_since=body.patrol_since,
        patrol_until=body.patrol_until,
        name=body.name,
        max_cells=MAX_CELLS,
    )
    try:
        spec.validate()
        if body.bbox is not None:  # country/border regions are checked by the job itself
            region_grid(shapely.box(*body.bbox), body.cell_size_m, MAX_CELLS)
    except GeomonError as exc:
        raise InvalidRequest(str(exc)) from exc
    agency = agency_of(principal)

    def work(conn: psycopg.Connection, data_dir: FsPath) -> dict[str, Any]:
        out = build_region_surface(
            conn, spec, data_dir=data_dir, agency_id=agency, created_by=principal.user
        )
        return {
            "surface_id": out.surface_id,
            "shape": list(out.shape),
            "crs": out.crs,
            "seconds": round(out.seconds, 2),
        }

    return start(request, tasks, principal, "surface", work)


@api_router.get("/surface-jobs/{job_id}", summary="Status of a surface job")
async def surface_job(request: Request, job_id: JobId, principal: Analyst) -> JSONResponse:
    job = jobs_of(request).get(job_id, "surface", principal.agency_id)
    return json_response(_with_links(request, job.public(), job.result.get("surface_id")))


def _with_links(request: Request, doc: dict[str, Any], sid: int | None) -> dict[str, Any]:
    """Where to see a surface: TileJSON, PNG tiles, and its corridors' OGC collection."""
    base = str(request.base_url).rstrip("/")
    if sid:
        doc["links"] = {
            "tilejson": f"{base}/tiles/surfaces/{sid}.json",
            "tiles": f"{base}/tiles/surfaces/{sid}/{{z}}/{{x}}/{{y}}.png",
            "corridors": f"{base}/ogc/collections/corridors-{sid}/items",
        }
    return doc


@api_router.get("/surfaces", summary="Stored surfaces the caller may see (newest first)")
async def list_surfaces(request: Request, conn: ReadConn) -> JSONResponse:
    rows = await surface_store.list_surfaces_async(conn)
    return json_response({"surfaces": [_with_links(request, r, r["id"]) for r in rows]})


@api_router.get("/surfaces/{surface_id:int}", summary="One surface: every input and weight")
async def show_surface(request: Request, conn: ReadConn, surface_id: SurfaceId) -> JSONResponse:
    doc = await surface_store.get_surface_async(conn, surface_id)
    return json_response(_with_links(request, doc, surface_id))


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(api_router, prefix="/api/v1")
