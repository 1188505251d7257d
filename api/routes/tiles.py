"""Vector tiles ``/tiles/{layer}/{z}/{x}/{y}.mvt`` and their TileJSON ``/tiles/{layer}.json``.

Tiles are rendered by PostGIS (ST_AsMVT) and cached in-process under a key holding the
tables' change counters and the caller's visibility; ``ETag``/``If-None-Match`` give 304s.
``Cache-Control: private, no-cache``: agency data, and browsers must revalidate (cheap).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response

from api.common import AUTH_RESPONSES
from api.conditional import not_modified
from api.deps import LayerConn, LayerId, ReadConn, Visibility
from api.errors import error_route
from api.state import app_state
from geomon.errors import InvalidRequest
from geomon.store import tiles as store
from tiles.cache import TileCache
from tiles.vector import MVT_MEDIA, check_address, etag_for, key_for, vector_tile

CACHE_CONTROL = "private, no-cache"
RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {"description": "x or y does not exist at zoom z."},
    404: {"description": "No such layer, or z outside the layer's zoom range."},
}
# a tile address outside the zoom's grid is a 400, as tile servers answer it
router = APIRouter(
    prefix="/tiles",
    tags=["tiles"],
    responses=RESPONSES,
    route_class=error_route({InvalidRequest: 400}),
)
Z = Annotated[int, Path(ge=0, le=24, description="Zoom level.")]
X = Annotated[int, Path(ge=0, description="Tile column (XYZ scheme).")]
Y = Annotated[int, Path(ge=0, description="Tile row (XYZ scheme, north at 0).")]


@router.get("/{layer}.json", summary="TileJSON 3.0.0 of a vector layer")
async def tilejson(request: Request, conn: ReadConn, layer: LayerId) -> JSONResponse:
    spec = await store.get_layer(conn, layer)
    base = str(request.base_url).rstrip("/")
    bounds = await store.layer_bounds(conn, spec) or (-180.0, -85.0511, 180.0, 85.0511)
    center = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(spec.minzoom, 5)]
    return JSONResponse(
        {
            "tilejson": "3.0.0",
            "name": spec.id,
            "description": spec.description,
            "scheme": "xyz",
            "tiles": [f"{base}/tiles/{spec.id}/{{z}}/{{x}}/{{y}}.mvt"],
            "minzoom": spec.minzoom,
            "maxzoom": spec.maxzoom,
            "bounds": list(bounds),
            "center": center,
            "vector_layers": [
                {
                    "id": spec.id,
                    "description": spec.description,
                    "fields": spec.fields,
                    "minzoom": spec.minzoom,
                    "maxzoom": spec.maxzoom,
                }
            ],
        }
    )


@router.get(
    "/{layer}/{z:int}/{x:int}/{y:int}.mvt",
    summary="A Mapbox vector tile",
    responses={
        200: {"content": {MVT_MEDIA: {}}, "description": "The tile (may be empty)."},
        304: {"description": "Not modified (If-None-Match)."},
    },
)
async def mvt(
    request: Request,
    conn_version: LayerConn,
    visibility: Visibility,
    layer: LayerId,
    z: Z,
    x: X,
    y: Y,
) -> Response:
    conn, version = conn_version
    spec = await store.get_layer(conn, layer)
    check_address(spec, z, x, y)
    key = key_for(spec, z, x, y, visibility, version)
    etag = etag_for(key)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization, Cookie"}
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    tile = await vector_tile(conn, app_state(request).tile_cache, spec, key)
    headers["X-Tile-Cache"] = "hit" if tile.cached else "miss"
    return Response(tile.data, media_type=MVT_MEDIA, headers=headers)


def install(app: FastAPI) -> None:
    app_state(app).tile_cache = TileCache()
    app.include_router(router)
