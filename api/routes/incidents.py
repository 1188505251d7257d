"""``/api/v1/incidents``: create one, bulk import CSV/GeoJSON, read and update (analysts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictFloat

from api.common import GEOJSON, RESPONSES, UtcTime, json_response, reject_nul, upload_text
from api.deps import Analyst, ReadConn, WriteConn, agency_of
from geomon import incident_files
from geomon.errors import InvalidRequest
from geomon.store import incident_edits as store

router = APIRouter(
    prefix="/incidents",
    tags=["incidents"],
    responses={
        **RESPONSES,
        403: {"description": "Needs the analyst role."},
        413: {"description": "Body larger than the configured limit."},
    },
)
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Incident id.")]


class IncidentIn(BaseModel):
    """A seizure, detention or detection at a point."""

    category: str = Field(min_length=1, max_length=100, description="seizure, detention…")
    occurred_at: UtcTime = Field(description="When it happened (RFC 3339, with offset).")
    lon: StrictFloat = Field(ge=-180, le=180, description="Longitude (WGS 84).")
    lat: StrictFloat = Field(ge=-90, le=90, description="Latitude (WGS 84).")
    quantity: StrictFloat | None = Field(default=None, ge=0, le=1e12, description="Amount seized.")
    unit: str | None = Field(default=None, max_length=20, description="kg, g, l, pieces…")
    attrs: dict[str, Any] = Field(default_factory=dict, description="Free attributes.")


class IncidentPatch(BaseModel):
    """Fields to change; the point changes only when both lon and lat are given."""

    category: str | None = Field(default=None, min_length=1, max_length=100)
    occurred_at: UtcTime | None = None
    lon: StrictFloat | None = Field(default=None, ge=-180, le=180)
    lat: StrictFloat | None = Field(default=None, ge=-90, le=90)
    quantity: StrictFloat | None = Field(default=None, ge=0, le=1e12)
    unit: str | None = Field(default=None, max_length=20)
    attrs: dict[str, Any] | None = None


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k not in ("id", "lon", "lat")}
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": props,
    }


@router.post("", status_code=201, summary="Record one incident (analyst)")
async def create(body: IncidentIn, conn: WriteConn, principal: Analyst) -> JSONResponse:
    reject_nul(body.model_dump(mode="json"))
    ids = await store.insert_incidents(
        conn, [body.model_dump()], agency_id=agency_of(principal), source="api"
    )
    return json_response(_feature(await store.get_incident(conn, ids[0])), 201)


@router.post(
    "/import",
    status_code=201,
    summary="Bulk import incidents from CSV or GeoJSON",
    description="Body: text/csv (columns category, occurred_at, lon, lat[, quantity, "
    "unit, …]) or application/geo+json / application/json (a FeatureCollection of "
    "Points). All rows or none; errors name the line or feature.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/geo+json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def import_file(request: Request, conn: WriteConn, principal: Analyst) -> JSONResponse:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    text = upload_text(await request.body())
    if kind == "text/csv":
        rows = incident_files.parse_csv(text)
    elif kind in ("application/geo+json", "application/json"):
        rows = incident_files.parse_geojson(text)
    else:
        raise InvalidRequest("send text/csv or application/geo+json")
    ids = await store.insert_incidents(
        conn, rows, agency_id=agency_of(principal), source=f"import:{datetime.now():%Y%m%dT%H%M%S}"
    )
    return json_response({"imported": len(ids), "ids": ids}, 201)


@router.get("/{incident_id:int}", summary="One incident", responses=GEOJSON)
async def get(conn: ReadConn, incident_id: IncidentId) -> JSONResponse:
    return json_response(
        _feature(await store.get_incident(conn, incident_id)), media="application/geo+json"
    )


@router.patch("/{incident_id:int}", summary="Change an incident (analyst)")
async def update(
    body: IncidentPatch, conn: WriteConn, incident_id: IncidentId, principal: Analyst
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    reject_nul(body.model_dump(mode="json", exclude_unset=True))
    if ("lon" in changes) != ("lat" in changes):
        raise InvalidRequest("give both lon and lat to move an incident")
    if any(v is None for k, v in changes.items() if k in ("category", "occurred_at")):
        raise InvalidRequest("category and occurred_at cannot be null")
    if any(v is None for k, v in changes.items() if k in ("lon", "lat")):
        raise InvalidRequest("lon and lat cannot be null: an incident always has a place")
    return json_response(_feature(await store.update_incident(conn, incident_id, changes)))
