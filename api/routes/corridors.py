"""``/api/v1/corridors``: build corridors on a surface (analyst job), read stored corridors,
and score routes (a drawn LineString or a device's track) over a surface.

``POST /api/v1/corridors`` answers 202 with a job id (api/jobs.py); ``GET
/api/v1/corridor-jobs/{id}`` gives the status and, once done, the corridors as GeoJSON. Building
surfaces is in api/routes/surfaces.py; both score routes with
:func:`geomon.analysis.corridors.score_line`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import numpy as np
import psycopg
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pyproj import CRS
from shapely.geometry import LineString, shape

from api.auth import audited
from api.common import (
    GEOJSON,
    RESPONSES,
    After,
    BorderCode,
    Limit,
    UtcTime,
    json_response,
    reject_nul,
    window,
)
from api.deps import Analyst, ReadConn, agency_of
from api.jobs import JobId, jobs_of, start
from api.state import app_state
from geomon.analysis import corridors as service
from geomon.errors import InvalidRequest
from geomon.spatial.raster_io import Grid, read_geotiff
from geomon.store import analysis_reads
from geomon.store import tracks as track_store
from geomon.store.tiles import get_surface

router = APIRouter(tags=["corridors"], responses=RESPONSES)
CorridorId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Corridor id.")]


class EndpointIn(BaseModel):
    border: BorderCode | None = None
    places: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20
    )
    points: list[tuple[float, float]] = Field(
        default_factory=list, max_length=20, description="[lon, lat] pairs"
    )
    crossings_of: BorderCode | None = Field(
        default=None, description="A border's official crossing points (one place each)."
    )


class CorridorIn(BaseModel):
    """Corridors on a stored surface between two endpoints (docs/corridors.md)."""

    surface_id: int = Field(ge=1, le=2**31 - 1)
    source: EndpointIn = Field(alias="from")
    target: EndpointIn = Field(alias="to")
    alternatives: int = Field(default=3, ge=1, le=5)
    margin_m: float | None = Field(default=None, ge=0, le=200_000)
    percentile: float | None = Field(default=None, gt=0, le=100)
    within_pct: float | None = Field(default=None, ge=0, le=1000)
    pairs: bool = False


def _request(body: CorridorIn) -> service.CorridorRequest:
    within = body.within_pct if body.percentile is not None or body.within_pct is not None else 3.0
    req = service.CorridorRequest(
        body.surface_id,
        service.Endpoint(**body.source.model_dump()),
        service.Endpoint(**body.target.model_dump()),
        alternatives=body.alternatives,
        margin_m=body.margin_m,
        percentile=body.percentile,
        within_pct=within,
        pairs=body.pairs,
    )
    req.check()
    return req


@router.post("/corridors", status_code=202, summary="Build corridors on a surface (job)")
async def create_corridors(
    body: CorridorIn, request: Request, tasks: BackgroundTasks, conn: ReadConn, principal: Analyst
) -> JSONResponse:
    reject_nul(body.model_dump(mode="json"))
    req = _request(body)
    await get_surface(conn, body.surface_id)  # 404 now if the caller cannot see it
    agency = agency_of(principal)

    def work(c: psycopg.Connection, data_dir: FsPath) -> dict[str, Any]:
        rows = service.build_corridors(
            c, req, data_dir=data_dir, agency_id=agency, created_by=principal.user
        )
        return {
            "surface_id": req.surface_id,
            "corridor_ids": [r["id"] for r in rows],
            "corridors": rows,
        }

    return start(request, tasks, principal, "corridor", work)


@router.get(
    "/corridor-jobs/{job_id}",
    summary="Status of a corridor job; its corridors as GeoJSON when done",
)
async def corridor_job(
    request: Request, conn: ReadConn, job_id: JobId, principal: Analyst
) -> JSONResponse:
    job = jobs_of(request).get(job_id, "corridor", principal.agency_id)
    doc = job.public()
    if job.status == "done":
        feats = [
            _corridor(await analysis_reads.get_corridor(conn, cid))
            for cid in job.result["corridor_ids"]
        ]
        doc["geojson"] = {"type": "FeatureCollection", "features": feats}
        sid = job.result["surface_id"]
        doc["links"] = {
            "ogc": f"{str(request.base_url).rstrip('/')}/ogc/collections/corridors-{sid}/items"
        }
    return json_response(doc)


# --------------------------------------------------------------------------- stored corridors


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
async def corridors(conn: ReadConn, after: After = None, limit: Limit = 100) -> JSONResponse:
    rows = await analysis_reads.list_corridors(conn, after=after, limit=limit)
    return json_response(
        {
            "type": "FeatureCollection",
            "features": [_corridor(r) for r in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None,
        },
        media="application/geo+json",
    )


@router.get(
    "/corridors/{corridor_id:int}", summary="One corridor as a GeoJSON Feature", responses=GEOJSON
)
async def corridor(conn: ReadConn, corridor_id: CorridorId) -> JSONResponse:
    return json_response(
        _corridor(await analysis_reads.get_corridor(conn, corridor_id)),
        media="application/geo+json",
    )


# --------------------------------------------------------------------------- route risk


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
    request: Request, conn: ReadConn, surface_id: int
) -> tuple[dict[str, Any], Grid]:
    """A visible surface's row and its raster (422 when its file is missing or in degrees)."""
    row = await get_surface(conn, surface_id)
    path = FsPath(str(row["path"]))
    if not path.is_absolute():
        path = FsPath(app_state(request).settings.data_dir) / path
    if not path.exists():
        raise InvalidRequest(f"surface {surface_id}'s file is missing")
    return row, await asyncio.to_thread(_metric_grid, path, surface_id)


@router.post(
    "/route-risk",
    summary="Score a route over a surface",
    description="Mean, maximum and integrated surface value along the route (metres in "
    "the surface's CRS), with stretches above `threshold` as GeoJSON.",
)
async def score_route(body: RouteRiskIn, request: Request, conn: ReadConn) -> JSONResponse:
    row, grid = await surface_grid(request, conn, body.surface_id)
    line = LineString(np.asarray([c[:2] for c in body.route.coordinates], dtype=float))
    result = await asyncio.to_thread(service.score_line, grid, line, body.threshold)
    return json_response({"surface_id": body.surface_id, "units": row["units"], **result})


class DeviceRiskIn(BaseModel):
    surface_id: int = Field(ge=1, le=2**31 - 1)
    device_id: int = Field(ge=1, le=2**31 - 1)
    start: UtcTime
    end: UtcTime
    threshold: float | None = None


@router.post(
    "/route-risk/device",
    summary="Score a device's track over a surface (audited)",
    dependencies=[Depends(audited)],
)
async def device_route_risk(body: DeviceRiskIn, request: Request, conn: ReadConn) -> JSONResponse:
    t0, t1 = window(body.start, body.end)
    await track_store.get_device(conn, body.device_id)
    track = await track_store.device_track(conn, body.device_id, t0, t1)
    if track["n_fixes"] < 2 or not track["geometry"]:
        raise InvalidRequest(
            f"device {body.device_id} has {track['n_fixes']} fix(es) in the "
            "window; a route needs at least two"
        )
    row, grid = await surface_grid(request, conn, body.surface_id)
    line = shape(json.loads(track["geometry"]))
    out = await asyncio.to_thread(service.score_line, grid, line, body.threshold)
    return json_response(
        {
            "surface_id": body.surface_id,
            "units": row["units"],
            "device_id": body.device_id,
            "start": t0,
            "end": t1,
            "n_fixes": track["n_fixes"],
            **out,
        }
    )


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
