"""``/api/v1/devices``: the device list, the latest fix of every device, one device, its fixes
and its track (position and track reads are audited)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.common import (
    GEOJSON,
    RESPONSES,
    After,
    BBox,
    End,
    Limit,
    Start,
    json_response,
    one_bbox,
    window,
)
from api.deps import ReadConn
from geomon.store import tracks as store
from geomon.store.positions import latest_positions

router = APIRouter(prefix="/devices", tags=["devices"], responses=RESPONSES)
DeviceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Device id.")]


def _device(row: dict[str, Any]) -> dict[str, Any]:
    geom = (
        None if row["lon"] is None else {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
    )
    props = {k: v for k, v in row.items() if k not in ("id", "lon", "lat")}
    return {"type": "Feature", "id": row["id"], "geometry": geom, "properties": props}


def latest_feature(row: dict[str, Any]) -> dict[str, Any]:
    """One device's latest fix as an RFC 7946 Feature."""
    props = {
        k: row[k]
        for k in (
            "device_id",
            "uid",
            "name",
            "kind",
            "agency",
            "speed_mps",
            "course_deg",
            "altitude_m",
            "valid",
        )
    }
    props["fix_time"] = row["fix_time"].isoformat()
    props["received_at"] = row["received_at"].isoformat()
    for key in ("battery", "gsm_signal", "ignition"):
        if key in row["attrs"]:
            props[key] = row["attrs"][key]
    return {
        "type": "Feature",
        "id": row["device_id"],
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": props,
    }


@router.get(
    "/latest",
    summary="Latest position of every device",
    description="A GeoJSON FeatureCollection (RFC 7946) with one Point per device: its newest "
    "fix by fix_time (late data never moves it backwards).",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "GeoJSON FeatureCollection.",
            "content": {"application/geo+json": {"schema": {"type": "object"}}},
        }
    },
)
async def devices_latest(conn: ReadConn) -> JSONResponse:
    rows = await latest_positions(conn)
    return JSONResponse(
        {"type": "FeatureCollection", "features": [latest_feature(r) for r in rows]},
        media_type="application/geo+json",
    )


@router.get("", summary="Devices the caller may see, with their latest fix", responses=GEOJSON)
async def devices(conn: ReadConn, after: After = None, limit: Limit = 100) -> JSONResponse:
    rows = await store.list_devices(conn, after=after, limit=limit)
    return json_response(
        {
            "type": "FeatureCollection",
            "features": [_device(r) for r in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None,
        },
        media="application/geo+json",
    )


@router.get("/{device_id:int}", summary="One device with its latest fix", responses=GEOJSON)
async def device(conn: ReadConn, device_id: DeviceId) -> JSONResponse:
    return json_response(
        _device(await store.get_device(conn, device_id)), media="application/geo+json"
    )


@router.get(
    "/{device_id:int}/positions",
    summary="A device's fixes in a time window (audited)",
    responses=GEOJSON,
)
async def positions(
    conn: ReadConn,
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
    "/{device_id:int}/track",
    summary="A device's track as one LineString (audited)",
    responses=GEOJSON,
)
async def track(
    conn: ReadConn,
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
