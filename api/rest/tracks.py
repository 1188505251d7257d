"""``/api/v1/devices``: the device list, one device, its fixes and its track."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.rest.common import (
    GEOJSON,
    RESPONSES,
    After,
    BBox,
    Conn,
    End,
    Limit,
    Start,
    json_response,
    one_bbox,
    window,
)
from geomon.store import tracks as store

router = APIRouter(prefix="/devices", tags=["devices"], responses=RESPONSES)
DeviceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Device id.")]


def _device(row: dict) -> dict:
    geom = (
        None if row["lon"] is None else {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
    )
    props = {k: v for k, v in row.items() if k not in ("id", "lon", "lat")}
    return {"type": "Feature", "id": row["id"], "geometry": geom, "properties": props}


@router.get("", summary="Devices the caller may see, with their latest fix", responses=GEOJSON)
async def devices(conn: Conn, after: After = None, limit: Limit = 100) -> JSONResponse:
    rows = await store.list_devices(conn, after=after, limit=limit)
    return json_response(
        {
            "type": "FeatureCollection",
            "features": [_device(r) for r in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None,
        },
        media="application/geo+json",
    )


@router.get("/{device_id}", summary="One device with its latest fix", responses=GEOJSON)
async def device(conn: Conn, device_id: DeviceId) -> JSONResponse:
    return json_response(
        _device(await store.get_device(conn, device_id)), media="application/geo+json"
    )


@router.get(
    "/{device_id}/positions",
    summary="A device's fixes in a time window (audited)",
    responses=GEOJSON,
)
async def positions(
    conn: Conn,
    device_id: DeviceId,
    start: Start = None,
    end: End = None,
    bbox: BBox = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Fixes per page (1–10,000).")] = 1000,
) -> JSONResponse:
    t0, t1 = window(start, end)
    await store.get_device(conn, device_id)
    rows = await store.device_fixes(conn, device_id, t0, t1, bbox=one_bbox(bbox), limit=limit)
    feats = [
        {
            "type": "Feature",
            "id": r["fix_time"].isoformat(),
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")},
        }
        for r in rows
    ]
    return json_response(
        {"type": "FeatureCollection", "features": feats, "complete": len(rows) < limit},
        media="application/geo+json",
    )


@router.get(
    "/{device_id}/track", summary="A device's track as one LineString (audited)", responses=GEOJSON
)
async def track(
    conn: Conn,
    device_id: DeviceId,
    start: Start = None,
    end: End = None,
    bbox: BBox = None,
    simplify_m: Annotated[
        float,
        Query(ge=0, le=10_000, description="Douglas–Peucker tolerance in metres (0 = every fix)."),
    ] = 0.0,
) -> JSONResponse:
    t0, t1 = window(start, end)
    await store.get_device(conn, device_id)
    t = await store.device_track(
        conn, device_id, t0, t1, tolerance_m=simplify_m, bbox=one_bbox(bbox)
    )
    geometry = json.loads(t.pop("geometry")) if t["geometry"] else None
    return json_response(
        {
            "type": "Feature",
            "id": device_id,
            "geometry": geometry,
            "properties": {
                **t,
                "device_id": device_id,
                "start": t0,
                "end": t1,
                "simplify_m": simplify_m,
            },
        },
        media="application/geo+json",
    )
