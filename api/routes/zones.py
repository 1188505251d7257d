"""``/api/v1/zones``: CRUD over geofences and patrol areas (writes need the analyst role)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictBool

from api.common import GEOJSON, RESPONSES, After, Limit, json_response, reject_nul
from api.deps import Analyst, ReadConn, WriteConn, agency_of
from geomon.store import zones_crud as store

router = APIRouter(
    prefix="/zones",
    tags=["zones"],
    responses={**RESPONSES, 403: {"description": "Needs the analyst role."}},
)
ZoneId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Zone id.")]
Kind = Literal["crossing_point", "border_strip", "restricted", "patrol_area"]


class Geometry(BaseModel):
    """A GeoJSON Polygon or MultiPolygon in lon/lat."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)


class ZoneIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    geometry: Geometry
    active: StrictBool = True
    attrs: dict[str, Any] = Field(default_factory=dict)


class ZonePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    geometry: Geometry | None = None
    active: StrictBool | None = None
    attrs: dict[str, Any] | None = None


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k not in ("id", "geometry")}
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": json.loads(row["geometry"]),
        "properties": props,
    }


@router.get("", summary="Zones the caller may see", responses=GEOJSON)
async def list_zones(conn: ReadConn, after: After = None, limit: Limit = 100) -> JSONResponse:
    rows = await store.list_zones(conn, after=after, limit=limit)
    return json_response(
        {
            "type": "FeatureCollection",
            "features": [_feature(r) for r in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None,
        },
        media="application/geo+json",
    )


@router.get("/{zone_id:int}", summary="One zone", responses=GEOJSON)
async def get_zone(conn: ReadConn, zone_id: ZoneId) -> JSONResponse:
    return json_response(
        _feature(await store.get_zone(conn, zone_id)), media="application/geo+json"
    )


@router.post("", status_code=201, summary="Create a zone in the caller's agency (analyst)")
async def create_zone(body: ZoneIn, conn: WriteConn, principal: Analyst) -> JSONResponse:
    reject_nul(body.model_dump(mode="json"))
    row = await store.create_zone(
        conn,
        agency_id=agency_of(principal),
        name=body.name,
        kind=body.kind,
        geometry=body.geometry.model_dump(),
        attrs=body.attrs,
    )
    if not body.active:
        row = await store.update_zone(conn, row["id"], {"active": False})
    return json_response(_feature(row), 201)


@router.patch("/{zone_id:int}", summary="Change a zone (analyst)")
async def update_zone(
    body: ZonePatch, conn: WriteConn, zone_id: ZoneId, principal: Analyst
) -> JSONResponse:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    reject_nul(changes)
    return json_response(_feature(await store.update_zone(conn, zone_id, changes)))


@router.delete("/{zone_id:int}", status_code=204, summary="Delete a zone (analyst)")
async def delete_zone(conn: WriteConn, zone_id: ZoneId, principal: Analyst) -> Response:
    await store.delete_zone(conn, zone_id)
    return Response(status_code=204)
