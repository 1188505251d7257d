"""The offline basemap: ``/basemap/{z}/{x}/{y}.mvt`` and its TileJSON ``/basemap.json``.

One vector tile holds every basemap layer (land, water, rivers, country outlines, borders and
the label points of countries, towns, lakes, peaks and crossing points), rendered by PostGIS
from ``basemap_features`` (geomon.store.basemap). The console draws it with protomaps-leaflet
at 512 px per tile (data tile z shows at display zoom z + 1). Public reference data: one
cached copy for every caller, keyed by the tables' change counters; the ETag revalidates.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response

from api.common import AUTH_RESPONSES
from api.conditional import not_modified
from api.deps import BasemapConn, Caller
from api.errors import error_route
from api.state import app_state
from geomon.errors import InvalidRequest
from geomon.store import basemap as store
from tiles.vector import MVT_MEDIA, etag_for

MAXZOOM = 14  # data tiles; the browser overzooms beyond (1:10m data has nothing finer)
LEVEL_DIFF = 1  # data tile z is drawn at display zoom z + 1 (512 px tiles)
# an hour without asking: the basemap changes only when reference data is reloaded
CACHE_CONTROL = "private, max-age=3600"
RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {"description": "x or y does not exist at zoom z."},
    404: {"description": "z is beyond the basemap's zoom range."},
}
# not under /tiles/: /tiles/{layer}/{z}/{x}/{y}.mvt would match the same paths
router = APIRouter(
    tags=["tiles"],
    responses=RESPONSES,
    route_class=error_route({InvalidRequest: 400}),
)
Z = Annotated[int, Path(ge=0, le=MAXZOOM, description="Zoom level of the data tile.")]
X = Annotated[int, Path(ge=0, description="Tile column (XYZ scheme).")]
Y = Annotated[int, Path(ge=0, description="Tile row (XYZ scheme, north at 0).")]


@router.get("/basemap.json", summary="TileJSON 3.0.0 of the offline basemap")
async def basemap_tilejson(request: Request, caller: Caller) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "tilejson": "3.0.0",
            "name": "basemap",
            "description": "Offline basemap: Natural Earth 1:10m land, water, rivers, "
            "borders and labels (name, name_ru) with a zoom-dependent density.",
            "scheme": "xyz",
            "tiles": [f"{base}/basemap/{{z}}/{{x}}/{{y}}.mvt"],
            "minzoom": 0,
            "maxzoom": MAXZOOM,
            "vector_layers": [
                {"id": name, "fields": {f: "String" for f in fields}}
                for name, (_, fields) in store.TILE_LAYERS.items()
            ],
        }
    )


@router.get(
    "/basemap/{z:int}/{x:int}/{y:int}.mvt",
    summary="A basemap vector tile (every basemap layer)",
    responses={
        200: {"content": {MVT_MEDIA: {}}, "description": "The tile (may be empty)."},
        304: {"description": "Not modified (If-None-Match)."},
    },
)
async def basemap_tile(request: Request, conn_version: BasemapConn, z: Z, x: X, y: Y) -> Response:
    conn, version = conn_version
    if x >= 1 << z or y >= 1 << z:
        raise InvalidRequest(f"tile x and y must be within 0..{(1 << z) - 1} at zoom {z}")
    key = ("basemap", z, x, y, "", version, None)
    etag = etag_for(key)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization, Cookie"}
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    cache = app_state(request).tile_cache
    data = cache.get(key)
    headers["X-Tile-Cache"] = "miss" if data is None else "hit"
    if data is None:
        data = await store.render_basemap_tile(conn, z, x, y, z + LEVEL_DIFF)
        cache.put(key, data)
    return Response(data, media_type=MVT_MEDIA, headers=headers)


def install(app: FastAPI) -> None:
    app.include_router(router)
