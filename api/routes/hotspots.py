"""Hotspot runs over the API: start one (analysts), list, show, its cells as GeoJSON, delete.

``POST /api/v1/hotspots/runs`` validates the parameters, stores the run as ``queued`` under the
caller's agency and answers 202 at once; a worker thread then reads the points under the same
row-level security (the caller only analyses what their agency may see), computes, and stores
the result (status ``done`` or ``failed`` with the error). Poll ``GET …/runs/{id}``. Reads and
deletes go through the caller's RLS connection: another agency's runs are 404.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, FastAPI, Path, Query
from fastapi.responses import JSONResponse, Response

from api.common import AUTH_RESPONSES, After, Limit, json_response
from api.deps import Analyst, AppSettings, ReadConn, WriteConn, agency_of
from geomon.analysis import hotspots as service
from geomon.analysis.hotspot_params import HotspotParams
from geomon.store import analysis_reads
from geomon.store import hotspots as store

router = APIRouter(
    prefix="/hotspots",
    tags=["hotspots"],
    responses={
        **AUTH_RESPONSES,
        404: {"description": "No such run, or not visible to (or not deletable by) the caller."},
        422: {"description": "Invalid parameters; the message says which."},
    },
)
RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Hotspot run id.")]


def _run_doc(row: dict[str, Any]) -> dict[str, Any]:
    rid = row["id"]
    links = {"self": f"/api/v1/hotspots/runs/{rid}"}
    if row["kind"] != "kde":
        links["cells"] = f"/api/v1/hotspots/runs/{rid}/cells"
        links["ogc_items"] = f"/ogc/collections/hotspots-{rid}/items"
    return {**row, "links": links}


@router.post(
    "/runs",
    status_code=202,
    summary="Start a hotspot run (analyst)",
    description="Body: kind (gistar, ehsa, kde, dbscan), filter (layer, category, "
    "agency, since, until and at most one of bbox, country, border + buffer_km, aoi) "
    "and the analysis settings. Answers 202 with the queued run; poll its URL.",
)
async def start_run(
    body: HotspotParams,
    who: Analyst,
    conn: WriteConn,
    settings: AppSettings,
    background: BackgroundTasks,
) -> JSONResponse:
    agency_id = agency_of(who)
    body = service.pinned(body)
    params, input_filter = body.stored()
    run_id = await store.create_run_async(
        conn,
        kind=body.kind,
        params=params,
        input_filter=input_filter,
        created_by=who.user,
        agency_id=agency_id,
    )
    url = settings.db.app_url or settings.db.url
    background.add_task(
        service.execute_queued,
        url,
        run_id,
        body,
        caller=service.Caller(agency_id, who.role, who.user),
        data_dir=FsPath(settings.data_dir),
    )
    row = await store.get_run_async(conn, run_id)
    return json_response(_run_doc(row), status=202)


@router.get("/runs", summary="Hotspot runs visible to the caller, newest first")
async def list_runs(
    conn: ReadConn,
    kind: Literal["gistar", "ehsa", "kde", "dbscan"] | None = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Ids below this.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    rows = await store.list_runs_async(conn, limit=limit, kind=kind, before=before)
    nxt = rows[-1]["id"] if len(rows) == limit else None
    return json_response({"runs": [_run_doc(r) for r in rows], "next_before": nxt})


@router.get("/runs/{run_id:int}", summary="One run: status, parameters, input filter, CRS, counts")
async def get_run(conn: ReadConn, run_id: RunId) -> JSONResponse:
    return json_response(_run_doc(await store.get_run_async(conn, run_id)))


@router.get(
    "/runs/{run_id:int}/cells",
    summary="A run's cells as GeoJSON (EPSG:4326)",
    responses={
        200: {
            "content": {"application/geo+json": {}},
            "description": "FeatureCollection of cells with value, z, p, "
            "gi_bin, gi_bin_fdr, p_sim, trend_z, trend_p, category",
        }
    },
)
async def run_cells(conn: ReadConn, run_id: RunId) -> Response:
    return Response(
        await analysis_reads.run_cells_geojson(conn, run_id), media_type="application/geo+json"
    )


@router.delete(
    "/runs/{run_id:int}",
    status_code=204,
    summary="Delete a run of the caller's agency (analyst or admin)",
)
async def delete_run(
    conn: WriteConn, who: Analyst, run_id: RunId, background: BackgroundTasks
) -> Response:
    path = await store.delete_run_async(conn, run_id)
    if path:  # after the response, i.e. after the commit
        background.add_task(FsPath(path).unlink, missing_ok=True)
    return Response(status_code=204)


# --- aliases of the first REST version (deprecated, kept for clients; docs/api.md) -----------
# ``/hotspots/{id}`` and ``/hotspots/{id}/cells`` answer as they always did. The ``:int``
# convertor keeps them from matching ``/hotspots/runs``, whatever the registration order.


@router.get(
    "",
    summary="Stored hotspot runs, oldest first (alias; use /hotspots/runs)",
    deprecated=True,
)
async def list_runs_v0(conn: ReadConn, after: After = None, limit: Limit = 100) -> JSONResponse:
    rows = await analysis_reads.list_runs(conn, after=after, limit=limit)
    return json_response(
        {"runs": rows, "next_after": rows[-1]["id"] if len(rows) == limit else None}
    )


@router.get(
    "/{run_id:int}", summary="One hotspot run (alias; use /hotspots/runs/{id})", deprecated=True
)
async def get_run_v0(conn: ReadConn, run_id: RunId) -> JSONResponse:
    return json_response(await analysis_reads.get_run(conn, run_id))


@router.get(
    "/{run_id:int}/cells",
    summary="A run's cells as GeoJSON (alias; use /hotspots/runs/{id}/cells)",
    deprecated=True,
    responses={200: {"content": {"application/geo+json": {}}, "description": "FeatureCollection"}},
)
async def run_cells_v0(conn: ReadConn, run_id: RunId) -> Response:
    return await run_cells(conn, run_id)


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
