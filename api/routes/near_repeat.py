"""Near-repeat runs over the API: start one (analysts), list, show, its Knox table, its chains
as GeoJSON, delete.

``POST /api/v1/near-repeat/runs`` validates the parameters, stores the run as ``queued`` under
the caller's agency and answers 202 at once; a worker thread then reads the incidents under the
same row-level security, computes the Knox table with Monte Carlo permutations and the chains,
and stores them (status ``done`` or ``failed`` with the error). Poll ``GET …/runs/{id}``.
Another agency's runs are 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Path, Query
from fastapi.responses import JSONResponse, Response

from api.common import AUTH_RESPONSES, json_response
from api.deps import Analyst, AppSettings, ReadConn, WriteConn, agency_of
from geomon.analysis import near_repeat as service
from geomon.store import near_repeat as store

router = APIRouter(
    prefix="/near-repeat",
    tags=["near-repeat"],
    responses={
        **AUTH_RESPONSES,
        404: {"description": "No such run, or not visible to (or not deletable by) the caller."},
        422: {"description": "Invalid parameters; the message says which."},
    },
)
RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Near-repeat run id.")]


def _run_doc(row: dict[str, Any]) -> dict[str, Any]:
    base = f"/api/v1/near-repeat/runs/{row['id']}"
    doc = {k: v for k, v in row.items() if k != "crs"}
    return {**doc, "links": {"self": base, "knox": f"{base}/knox", "chains": f"{base}/chains"}}


@router.post(
    "/runs",
    status_code=202,
    summary="Start a near-repeat run (analyst)",
    description="Body: category, agency, since, until, space_edges_m, time_edges_days, "
    "permutations, seed, chain_space_m, chain_time_days. Answers 202 with the queued run; "
    "poll its URL.",
)
async def start_run(
    body: service.NearRepeatParams,
    who: Analyst,
    conn: WriteConn,
    settings: AppSettings,
    background: BackgroundTasks,
) -> JSONResponse:
    agency_id = agency_of(who)
    body = body.pinned()
    params, input_filter = body.stored()
    run_id = await store.create_run_async(
        conn, params=params, input_filter=input_filter, created_by=who.user, agency_id=agency_id
    )
    background.add_task(
        service.execute_queued,
        settings.db.app_url or settings.db.url,
        run_id,
        body,
        caller=service.Caller(agency_id, who.role, who.user),
    )
    return json_response(_run_doc(await store.get_run_async(conn, run_id)), status=202)


@router.get("/runs", summary="Near-repeat runs visible to the caller, newest first")
async def list_runs(
    conn: ReadConn,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Ids below this.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    rows = await store.list_runs_async(conn, limit=limit, before=before)
    nxt = rows[-1]["id"] if len(rows) == limit else None
    return json_response({"runs": [_run_doc(r) for r in rows], "next_before": nxt})


@router.get("/runs/{run_id:int}", summary="One run: status, parameters, counts")
async def get_run(conn: ReadConn, run_id: RunId) -> JSONResponse:
    return json_response(_run_doc(await store.get_run_async(conn, run_id)))


@router.get(
    "/runs/{run_id:int}/knox",
    summary="A run's Knox table: observed, expected, ratio and pseudo p-value per band cell",
)
async def run_knox(conn: ReadConn, run_id: RunId) -> JSONResponse:
    return json_response({"run_id": run_id, "cells": await store.cells_async(conn, run_id)})


@router.get(
    "/runs/{run_id:int}/chains",
    summary="A run's chains of near-repeat incidents as GeoJSON (EPSG:4326)",
    responses={
        200: {
            "content": {"application/geo+json": {}},
            "description": "FeatureCollection of MultiLineStrings (the links of each chain) "
            "with chain_id, n_incidents, incident_ids, first_at, last_at",
        }
    },
)
async def run_chains(conn: ReadConn, run_id: RunId) -> Response:
    return Response(
        await store.chains_geojson_async(conn, run_id), media_type="application/geo+json"
    )


@router.delete("/runs/{run_id:int}", status_code=204, summary="Delete a run of the caller's agency")
async def delete_run(conn: WriteConn, who: Analyst, run_id: RunId) -> Response:
    await store.delete_run_async(conn, run_id)
    return Response(status_code=204)


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
