"""Risk surfaces and corridors built from the API, and route risk of a device's track.

``POST /api/v1/surfaces`` and ``POST /api/v1/corridors`` (analyst) answer 202 with a job id;
the work runs after the response in a worker thread, on its own connection under the caller's
row-level-security context (so the rows it writes belong to the caller's agency), at most
:data:`MAX_RUNNING` at a time. ``GET /api/v1/surface-jobs/{id}`` / ``corridor-jobs/{id}`` give
the status and, once done, the result (a corridor job returns its corridors as GeoJSON).
Job status lives in the API process (results live in PostGIS): a restart forgets queued
jobs, and a job is only visible to users of the agency that started it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Annotated, Any

import psycopg
import shapely
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from api.auth import audited
from api.rest.common import RESPONSES, Analyst, Conn, agency_of, json_response, reject_nul
from geomon.analysis import corridors as service
from geomon.analysis.region_surface import RegionSurfaceSpec, build_region_surface, region_grid
from geomon.errors import GeomonError, InvalidRequest
from geomon.spatial.surfaces import SurfaceWeights
from geomon.store import analysis_reads
from geomon.store import surfaces as surface_store
from geomon.store import tracks as track_store
from geomon.store.hotspots import set_caller_context
from geomon.store.tiles import get_surface

log = logging.getLogger(__name__)
router = APIRouter(tags=["corridors"], responses=RESPONSES)
MAX_RUNNING = 2
MAX_JOBS = 500
MAX_CELLS = 2_000_000  # per API-built surface: a few seconds and ~100 MB at most
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Job id.")]
SurfaceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Surface id.")]
Iso3 = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
BorderCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}-[A-Za-z]{3}$")]


# --------------------------------------------------------------------------- jobs


@dataclass
class Job:
    id: int
    kind: str
    agency_id: int
    user: str
    status: str = "queued"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at,
            "created_by": self.user,
            "result": self.result or None,
            "error": self.error,
        }


class Jobs:
    """The process's corridor/surface jobs (bounded; oldest finished ones dropped first)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self.slots = threading.BoundedSemaphore(MAX_RUNNING)

    def new(self, kind: str, agency_id: int, user: str) -> Job:
        job = Job(next(self._ids), kind, agency_id, user)
        self._jobs[job.id] = job
        while len(self._jobs) > MAX_JOBS:
            self._jobs.popitem(last=False)
        return job

    def get(self, job_id: int, kind: str, agency_id: int | None) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.kind != kind or job.agency_id != agency_id:
            raise HTTPException(404, f"no {kind} job {job_id} (or not your agency's)")
        return job


def _jobs(request: Request) -> Jobs:
    state = request.app.state
    if getattr(state, "corridor_jobs", None) is None:
        state.corridor_jobs = Jobs()
    return state.corridor_jobs  # type: ignore[no-any-return]


def _run(request: Request, job: Job, principal: Any, work: Any) -> None:
    """Worker thread: one transaction under the caller's RLS context; commit or fail."""
    settings = request.app.state.settings
    url = settings.db.app_url or settings.db.url
    with _jobs(request).slots:
        job.status = "running"
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                set_caller_context(
                    conn, agency_id=principal.agency_id, role=principal.role, user=principal.user
                )
                job.result = work(conn, settings.data_dir)
                conn.commit()
            job.status = "done"
        except GeomonError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception:  # noqa: BLE001 - a job must end; clients never see a stack trace
            log.exception("%s job %d failed", job.kind, job.id)
            job.status, job.error = "failed", "internal error (see the server log)"


def _start(
    request: Request, tasks: BackgroundTasks, principal: Any, kind: str, work: Any
) -> JSONResponse:
    job = _jobs(request).new(kind, agency_of(principal), principal.user)
    tasks.add_task(_run, request, job, principal, work)
    url = f"{str(request.base_url).rstrip('/')}/api/v1/{kind}-jobs/{job.id}"
    return json_response({**job.public(), "status_url": url}, status=202)


# --------------------------------------------------------------------------- surfaces


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
    patrol_since: datetime | None = None
    patrol_until: datetime | None = None
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


@router.post("/surfaces", status_code=202, summary="Build a risk surface of a region (job)")
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

    return _start(request, tasks, principal, "surface", work)


@router.get("/surface-jobs/{job_id}", summary="Status of a surface job")
async def surface_job(request: Request, job_id: JobId, principal: Analyst) -> JSONResponse:
    job = _jobs(request).get(job_id, "surface", principal.agency_id)
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


@router.get("/surfaces", summary="Stored surfaces the caller may see (newest first)")
async def list_surfaces(request: Request, conn: Conn) -> JSONResponse:
    rows = await surface_store.list_surfaces_async(conn)
    return json_response({"surfaces": [_with_links(request, r, r["id"]) for r in rows]})


@router.get("/surfaces/{surface_id}", summary="One surface: every input and weight")
async def show_surface(request: Request, conn: Conn, surface_id: SurfaceId) -> JSONResponse:
    doc = await surface_store.get_surface_async(conn, surface_id)
    return json_response(_with_links(request, doc, surface_id))


# --------------------------------------------------------------------------- corridors


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
    body: CorridorIn, request: Request, tasks: BackgroundTasks, conn: Conn, principal: Analyst
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

    return _start(request, tasks, principal, "corridor", work)


@router.get(
    "/corridor-jobs/{job_id}",
    summary="Status of a corridor job; its corridors as GeoJSON when done",
)
async def corridor_job(
    request: Request, conn: Conn, job_id: JobId, principal: Analyst
) -> JSONResponse:
    from api.rest.analysis import _corridor

    job = _jobs(request).get(job_id, "corridor", principal.agency_id)
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


# --------------------------------------------------------------------------- route risk


class DeviceRiskIn(BaseModel):
    surface_id: int = Field(ge=1, le=2**31 - 1)
    device_id: int = Field(ge=1, le=2**31 - 1)
    start: datetime
    end: datetime
    threshold: float | None = None


@router.post(
    "/route-risk/device",
    summary="Score a device's track over a surface (audited)",
    dependencies=[Depends(audited)],
)
async def device_route_risk(body: DeviceRiskIn, request: Request, conn: Conn) -> JSONResponse:
    from api.rest.analysis import surface_grid
    from api.rest.common import window

    t0, t1 = window(body.start, body.end)
    await track_store.get_device(conn, body.device_id)
    track = await track_store.device_track(conn, body.device_id, t0, t1)
    if track["n_fixes"] < 2 or not track["geometry"]:
        raise InvalidRequest(
            f"device {body.device_id} has {track['n_fixes']} fix(es) in the "
            "window; a route needs at least two"
        )
    from shapely.geometry import shape

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
