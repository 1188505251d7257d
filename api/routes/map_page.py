"""``GET /map``: the situation map page."""

from __future__ import annotations

import time
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api import deps
from api.map.layers import MapData
from api.map.page import MapUrls, render_map
from api.routes.devices import latest_feature
from geomon.store import map_layers
from geomon.store.positions import latest_positions
from geomon.store.reference import borders_geojson

REFERENCE_TTL_S = 300.0
_reference_cache: dict[str, Any] = {}

# The caller's RLS-scoped connection once auth lands (api/deps.py agency_connection).
data_connection = getattr(deps, "agency_connection", deps.connection)

router = APIRouter(tags=["map"])


async def reference_layers(conn: psycopg.AsyncConnection) -> tuple[dict, dict]:
    """Countries and borders: public reference data, the same for every caller, so cached
    for a few minutes (they are most of the page's query time)."""
    hit = _reference_cache.get("layers")
    if hit is None or time.monotonic() - hit[0] > REFERENCE_TTL_S:
        hit = (time.monotonic(), await map_layers.countries_for_map(conn, simplify_deg=0.01),
               await borders_geojson(conn, simplify_deg=0.002))
        _reference_cache["layers"] = hit
    return hit[1], hit[2]


async def map_data(conn: psycopg.AsyncConnection) -> MapData:
    countries, borders = await reference_layers(conn)
    return MapData(
        countries=countries,
        borders=borders,
        places=await map_layers.places_for_search(conn),
        zones=await map_layers.zones_geojson(conn),
        incidents=await map_layers.incident_points(conn),
        hotspots=await map_layers.latest_hotspot_geojson(conn),
        corridors=await map_layers.corridors_geojson(conn),
        surfaces=await map_layers.surfaces_list(conn),
        teams={"type": "FeatureCollection",
               "features": [latest_feature(r) for r in await latest_positions(conn)]},
    )


@router.get("/map", response_class=HTMLResponse, summary="Situation map (HTML)")
async def situation_map(
        request: Request,
        conn: Annotated[psycopg.AsyncConnection, Depends(data_connection)]) -> HTMLResponse:
    html = render_map(request.app.state.settings.api, await map_data(conn), MapUrls())
    return HTMLResponse(html)
