"""``/api/v1/hotspots``, ``/api/v1/corridors`` (stored results) and ``/api/v1/route-risk``.

Building surfaces and corridors from the API (jobs), and route risk of a device's track, are in
api/routes/corridors.py; both score routes with :func:`geomon.analysis.corridors.score_line`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from pyproj import CRS
from shapely.geometry import LineString

from api.rest.common import GEOJSON, RESPONSES, After, Conn, Limit, json_response
from geomon.analysis.corridors import score_line
from geomon.errors import InvalidRequest
from geomon.spatial.raster_io import Grid, read_geotiff
from geomon.store import analysis_reads as store
from geomon.store.tiles import get_surface

router = APIRouter(tags=["analysis"], responses=RESPONSES)
RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Hotspot run id.")]
CorridorId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Corridor id.")]


@router.get("/hotspots", summary="Stored hotspot runs (parameters, input window, status)")
async def runs(conn: Conn, after: After = None, limit: Limit = 100) -> JSONResponse:
    rows = await store.list_runs(conn, after=after, limit=limit)
    return json_response(
        {"runs": rows, "next_after": rows[-1]["id"] if len(rows) == limit else None}
    )


@router.get("/hotspots/{run_id}", summary="One hotspot run")
async def run(conn: Conn, run_id: RunId) -> JSONResponse:
    return json_response(await store.get_run(conn, run_id))


@router.get(
    "/hotspots/{run_id}/cells",
    summary="A run's cells as GeoJSON (z, p, bins, categories)",
    responses={200: {"content": {"application/geo+json": {}}, "description": "FeatureCollection"}},
)
async def run_cells(conn: Conn, run_id: RunId) -> Response:
    return Response(await store.run_cells_geojson(conn, run_id), media_type="application/geo+json")


def _corridor(row: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k not in ("id", "geometry", "path")}
    props["path"] = json.loads(row["path"]) if row["path"] else None
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": json.loads(row["geometry"]) if row["geometry"] else None,
        "properties": props,
    }


@router.get(
    "/corridors",
    summary="Stored corridors (polygons with their least-cost paths)",
    responses=GEOJSON,
)
async def corridors(conn: Conn, after: After = None, limit: Limit = 100) -> JSONResponse:
    rows = await store.list_corridors(conn, after=after, limit=limit)
    return json_response(
        {
            "type": "FeatureCollection",
            "features": [_corridor(r) for r in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None,
        },
        media="application/geo+json",
    )


@router.get(
    "/corridors/{corridor_id}", summary="One corridor as a GeoJSON Feature", responses=GEOJSON
)
async def corridor(conn: Conn, corridor_id: CorridorId) -> JSONResponse:
    return json_response(
        _corridor(await store.get_corridor(conn, corridor_id)), media="application/geo+json"
    )


class Route(BaseModel):
    type: Literal["LineString"]
    coordinates: list[Annotated[list[float], Field(min_length=2, max_length=3)]] = Field(
        min_length=2, max_length=100_000, description="[lon, lat] pairs (WGS 84)."
    )


class RouteRiskIn(BaseModel):
    """A planned patrol or driven route, scored over a stored surface."""

    surface_id: int = Field(ge=1, le=2**31 - 1, description="Surface (risk/cost) to score on.")
    route: Route
    threshold: float | None = Field(default=None, description="Return stretches above this.")


def _metric_grid(path: FsPath, surface_id: int) -> Grid:
    grid = read_geotiff(path)
    if CRS.from_user_input(grid.crs).is_geographic:
        raise InvalidRequest("route risk needs a surface in a metric CRS")
    return grid


async def surface_grid(
    request: Request, conn: Conn, surface_id: int
) -> tuple[dict[str, Any], Grid]:
    """A visible surface's row and its raster (422 when its file is missing or in degrees)."""
    row = await get_surface(conn, surface_id)
    path = FsPath(str(row["path"]))
    if not path.is_absolute():
        path = FsPath(request.app.state.settings.data_dir) / path
    if not path.exists():
        raise InvalidRequest(f"surface {surface_id}'s file is missing")
    return row, await asyncio.to_thread(_metric_grid, path, surface_id)


@router.post(
    "/route-risk",
    summary="Score a route over a surface",
    description="Mean, maximum and integrated surface value along the route (metres in "
    "the surface's CRS), with stretches above `threshold` as GeoJSON.",
)
async def score_route(body: RouteRiskIn, request: Request, conn: Conn) -> JSONResponse:
    row, grid = await surface_grid(request, conn, body.surface_id)
    line = LineString(np.asarray([c[:2] for c in body.route.coordinates], dtype=float))
    result = await asyncio.to_thread(score_line, grid, line, body.threshold)
    return json_response({"surface_id": body.surface_id, "units": row["units"], **result})
