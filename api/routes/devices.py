"""Devices and their latest positions."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.deps import connection
from geomon.store.positions import latest_positions

router = APIRouter(tags=["devices"])


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
    "/devices/latest",
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
async def devices_latest(conn: psycopg.AsyncConnection = Depends(connection)) -> JSONResponse:
    rows = await latest_positions(conn)
    return JSONResponse(
        {"type": "FeatureCollection", "features": [latest_feature(r) for r in rows]},
        media_type="application/geo+json",
    )
