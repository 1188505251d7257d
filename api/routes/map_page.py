"""``GET /map``: the situation map page."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import Caller, Principal, ReadConn
from api.i18n import page_locale
from api.map.layers import MapData
from api.map.page import MapUrls, render_map
from api.routes.devices import latest_feature
from api.state import app_state
from geomon.store import map_layers
from geomon.store.positions import latest_positions
from geomon.store.reference import borders_geojson
from geomon.store.tiles import layer_version

REFERENCE_TTL_S = 300.0
_reference_cache: dict[str, Any] = {}
# The rendered page (everything but the teams' first snapshot, filled in per request) is kept
# per visibility for PAGE_TTL_S and dropped at once when a table it shows changes
# (layer_versions); agency names on zones and the incidents' recency may lag by the TTL.
PAGE_TTL_S = 30.0
PAGE_TABLES = (
    "borders",
    "corridors",
    "hotspot_cells",
    "hotspot_runs",
    "incidents",
    "places",
    "surfaces",
    "zones",
)
_TEAMS_SLOT = "__geomon_initial_teams__"
_PAGE_CACHE_MAX = 64

router = APIRouter(tags=["map"])


async def reference_layers(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    """Borders: public reference data, the same for every caller, so cached for a few
    minutes. Countries, water and labels come as basemap tiles (api/routes/basemap.py)."""
    hit = _reference_cache.get("layers")
    if hit is None or time.monotonic() - hit[0] > REFERENCE_TTL_S:
        hit = (time.monotonic(), await borders_geojson(conn, simplify_deg=0.002))
        _reference_cache["layers"] = hit
    return hit[1]


async def map_data(conn: psycopg.AsyncConnection, *, teams: bool = True) -> MapData:
    """What the page shows; without ``teams`` the route fills their snapshot in per request
    (the rest of the page is cached)."""
    return MapData(
        borders=await reference_layers(conn),
        places=await map_layers.places_for_search(conn),
        zones=await map_layers.zones_geojson(conn),
        incidents=await map_layers.incident_points(conn),
        hotspots=await map_layers.latest_hotspot_geojson(conn),
        corridors=await map_layers.corridors_geojson(conn),
        surfaces=await map_layers.surfaces_list(conn),
        teams=await _teams(conn) if teams else _TEAMS_SLOT,  # type: ignore[arg-type]
    )


async def _teams(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [latest_feature(r) for r in await latest_positions(conn)],
    }


def _visibility(p: Principal) -> tuple[object, ...]:
    """What the database lets this caller see (RLS context: agency and role; the shares it
    reads)."""
    shares = tuple(sorted((scope, tuple(sorted(ids))) for scope, ids in p.shares.items()))
    return (p.agency_id, p.role, shares)


async def _page_template(request: Request, conn: psycopg.AsyncConnection, caller: Principal) -> str:
    """The rendered page with a slot for the teams, from the cache when still current."""
    visibility = _visibility(caller)
    version = await layer_version(conn, PAGE_TABLES)
    cache = _page_cache(request)
    shown = await page_locale(request)
    key = (visibility, version, shown.locale, shown.time_zone)
    hit = cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    html = render_map(
        app_state(request).settings.api,
        await map_data(conn, teams=False),
        MapUrls(),
        locale=shown.locale,
        time_zone=shown.time_zone,
    )
    if len(cache) >= _PAGE_CACHE_MAX:
        cache.clear()
    cache[key] = (time.monotonic() + PAGE_TTL_S, html)
    return html


def _page_cache(request: Request) -> dict[tuple[object, ...], tuple[float, str]]:
    return app_state(request).map_page_cache


@router.get("/map", response_class=HTMLResponse, summary="Situation map (HTML)")
async def situation_map(request: Request, conn: ReadConn, caller: Caller) -> HTMLResponse:
    # the slot's LAST occurrence: the boot script comes after every layer's (agency) data
    head, slot, tail = (await _page_template(request, conn, caller)).rpartition(
        json.dumps(_TEAMS_SLOT)
    )
    teams = json.dumps(await _teams(conn)).replace("</", "<\\/")
    return HTMLResponse(head + teams + tail if slot else tail)
