"""``GET /map``: the situation map page."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.deps import connection
from api.map.page import render_map
from geomon.store.reference import borders_geojson, countries_geojson, places_for_map

router = APIRouter(tags=["map"])


@router.get("/map", response_class=HTMLResponse, summary="Situation map (HTML)")
async def situation_map(request: Request,
                        conn: psycopg.AsyncConnection = Depends(connection)) -> HTMLResponse:
    html = render_map(
        request.app.state.settings.api,
        countries=await countries_geojson(conn, simplify_deg=0.01),
        borders=await borders_geojson(conn, simplify_deg=0.002),
        places=await places_for_map(conn),
    )
    return HTMLResponse(html)
