"""Seasonal forecast runs over the API: start one (analysts), list, show, its locations as
GeoJSON, one location's chart series, rerun, delete (docs/forecasts.md).

``POST /api/v1/forecasts/runs`` pins the window, checks what can be checked at once (whole
steps, enough of them for the season and the backtest, an incident in the window, the border,
crossing points or zones the units are built on) and answers 422 naming the problem; else it
stores the run as ``queued`` under the caller's agency and answers 202. A worker thread then
reads the incidents under the same row-level security, builds the cube, runs the engine
(geomon.spatial.forecast) and stores one row per location (status ``done`` or ``failed`` with
the error). A location without events is ``no_data``, one with too few ``not_enough_data``:
no forecast, never a silent zero. Another agency's runs are 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Path, Query
from fastapi.responses import JSONResponse, Response

from api.common import AUTH_RESPONSES, json_response, reject_nul
from api.deps import Analyst, AppSettings, ReadConn, WriteConn, agency_of
from geomon.analysis import forecasts as service
from geomon.errors import Conflict, StoreError
from geomon.store import forecasts as store

router = APIRouter(
    prefix="/forecasts",
    tags=["forecasts"],
    responses={
        **AUTH_RESPONSES,
        404: {"description": "No such run or location, or not visible to the caller."},
        422: {"description": "Invalid parameters or input; the message says which."},
    },
)
RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Forecast run id.")]
LocId = Annotated[int, Path(ge=0, le=2**31 - 1, description="Location id within the run.")]


def _run_doc(row: dict[str, Any]) -> dict[str, Any]:
    rid = row["id"]
    base = f"/api/v1/forecasts/runs/{rid}"
    links = {
        "self": base,
        "cells": f"{base}/cells",
        "rerun": f"{base}/rerun",
        "ogc_items": f"/ogc/collections/forecasts-{rid}/items",
        "tiles": f"/tiles/forecasts-{rid}.json",
    }
    return {**row, "links": links}


async def _queue(
    p: service.ForecastRunParams,
    who: Analyst,
    conn: WriteConn,
    settings: AppSettings,
    background: BackgroundTasks,
) -> JSONResponse:
    agency_id = agency_of(who)
    doc, filt = p.stored()
    run_id = await store.create_run_async(
        conn, params=doc, input_filter=filt, step=p.step, created_by=who.user, agency_id=agency_id
    )
    background.add_task(
        service.execute_queued,
        settings.db.app_url or settings.db.url,
        run_id,
        p,
        caller=service.Caller(agency_id, who.role, who.user),
    )
    return json_response(_run_doc(await store.get_run_async(conn, run_id)), status=202)


@router.post(
    "/runs",
    status_code=202,
    summary="Start a seasonal forecast run (analyst)",
    description="Body: units (grid, border_sectors, crossing_points, zones) with border, "
    "sector_km, buffer_km, cell_km, country or zone_kind; category, agency; step (month or "
    "week), since, until (whole steps, UTC), horizon, backtest_steps, level, outlier_k. "
    "Answers 202 with the queued run; poll its URL.",
)
async def start_run(
    body: service.ForecastRunParams,
    who: Analyst,
    conn: WriteConn,
    settings: AppSettings,
    background: BackgroundTasks,
) -> JSONResponse:
    reject_nul(body.model_dump(mode="json"))
    p = await service.prepare_async(conn, body)
    return await _queue(p, who, conn, settings, background)


@router.post(
    "/runs/{run_id:int}/rerun",
    status_code=202,
    summary="A new run with a stored run's parameters and window (analyst)",
    description="The new run belongs to the caller's agency and reads what the caller may "
    "see now, over the same pinned window.",
    responses={409: {"description": "The run's stored parameters are no longer valid."}},
)
async def rerun(
    run_id: RunId,
    who: Analyst,
    conn: WriteConn,
    settings: AppSettings,
    background: BackgroundTasks,
) -> JSONResponse:
    row = await store.get_run_async(conn, run_id)
    try:
        stored = service.ForecastRunParams.model_validate(row["params"])
    except ValueError as exc:
        raise Conflict(f"forecast run {run_id} has parameters this version cannot read") from exc
    p = await service.prepare_async(conn, stored)
    return await _queue(p, who, conn, settings, background)


@router.get("/runs", summary="Forecast runs visible to the caller, newest first")
async def list_runs(
    conn: ReadConn,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Ids below this.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    rows = await store.list_runs_async(conn, limit=limit, before=before)
    nxt = rows[-1]["id"] if len(rows) == limit else None
    return json_response({"runs": [_run_doc(r) for r in rows], "next_before": nxt})


@router.get("/runs/{run_id:int}", summary="One run: status, parameters, input filter, counts")
async def get_run(conn: ReadConn, run_id: RunId) -> JSONResponse:
    return json_response(_run_doc(await store.get_run_async(conn, run_id)))


@router.get(
    "/runs/{run_id:int}/cells",
    summary="A run's locations as GeoJSON (EPSG:4326)",
    responses={
        200: {
            "content": {"application/geo+json": {}},
            "description": "FeatureCollection of locations with name, status (ok, no_data, "
            "not_enough_data), model, trusted, expected_next with lower_next/upper_next, "
            "naive_next, rmse, rmse_naive, mase, mase_naive, skill_p, peak (1-based month or "
            "week of year), n_outliers, and forecast/lower/upper for every step ahead",
        }
    },
)
async def run_cells(conn: ReadConn, run_id: RunId) -> Response:
    return Response(
        await store.cells_geojson_async(conn, run_id), media_type="application/geo+json"
    )


@router.get(
    "/runs/{run_id:int}/cells/{loc_id:int}",
    summary="One location: scores, trust flag, peak, and the series for its chart",
    description="series: history (counts per step), fitted, forecast with lower/upper (the "
    "prediction interval at the run's level), naive (seasonal-naive baseline), outliers "
    "(history step indexes), profile_mean/profile_se by season position; times: the start "
    "of every history and forecast step (UTC).",
)
async def run_cell(conn: ReadConn, run_id: RunId, loc_id: LocId) -> JSONResponse:
    row = await store.get_run_async(conn, run_id)
    cell = await store.cell_async(conn, run_id, loc_id)
    try:
        times = service.chart_times(row, len(cell["series"].get("forecast", [])))
    except ValueError as exc:
        raise StoreError(f"forecast run {run_id} has unreadable parameters") from exc
    peak = cell.pop("peak_pos")
    return json_response({"run_id": run_id, **cell, "peak": None if peak is None else peak + 1,
                          "times": times})  # fmt: skip


@router.delete("/runs/{run_id:int}", status_code=204, summary="Delete a run of the caller's agency")
async def delete_run(conn: WriteConn, who: Analyst, run_id: RunId) -> Response:
    await store.delete_run_async(conn, run_id)
    return Response(status_code=204)


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
