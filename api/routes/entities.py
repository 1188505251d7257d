"""``/api/v1/entities``: persons, vehicles, phones and organisations (migration 0032).

Create (analysts), read and search (audited like tracks), soft delete with a reason, and the
network around an entity (``/entities/{id}/network``: nodes and links within ``depth`` steps,
as JSON, Cytoscape.js elements, GraphML or the CSV of i2 Analyst's Notebook's import). Another
agency's entity is 404 unless that agency shares the scope ``entities``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import audited
from api.common import RESPONSES, UtcTime, json_response, reject_nul
from api.deps import Analyst, ReadConn, WriteConn, agency_of
from geomon import entities as domain
from geomon.errors import InvalidRequest
from geomon.exchange import network as export
from geomon.plates import normalise_plate
from geomon.store import entities as store
from geomon.store import links as link_store
from geomon.store import network as network_store

router = APIRouter(
    prefix="/entities",
    tags=["entities"],
    responses={
        **RESPONSES,
        403: {"description": "Writes need the analyst role."},
        409: {"description": "A live entity of the agency has this kind and identity."},
    },
)
EntityId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Entity id.")]
EntityKind = Literal["person", "vehicle", "phone", "organisation"]
Format = Literal["json", "cytoscape", "graphml", "i2"]


class EntityIn(BaseModel):
    """A person or organisation needs a name, a vehicle a plate or VIN, a phone an IMEI or an
    international number."""

    kind: EntityKind
    label: str | None = Field(default=None, max_length=200, description="Shown on charts.")
    name: str | None = Field(default=None, max_length=200)
    identity: str | None = Field(
        default=None,
        max_length=200,
        description="Key in the source (persons, organisations); derived for vehicles/phones.",
    )
    born_on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD.")
    plate: str | None = Field(default=None, max_length=40, description="As written.")
    plate_country: str | None = Field(default=None, max_length=3)
    vin: str | None = Field(default=None, max_length=17)
    imei: str | None = Field(default=None, max_length=20)
    msisdn: str | None = Field(default=None, max_length=24, description="+996 555 123456")
    note: str = Field(default="", max_length=2000)
    source: str = Field(default="api", max_length=100)


class EntityOut(BaseModel):
    id: int
    agency: str
    kind: str
    identity: str | None
    label: str
    name: str | None
    born_on: str | None
    plate: str | None = Field(description="Normalised plate.")
    plate_raw: str | None
    plate_country: str | None
    vin: str | None
    imei: str | None
    msisdn: str | None
    note: str
    source: str
    added_by: str
    added_at: str
    updated_at: str
    deleted_at: str | None
    deleted_by: str | None
    deleted_why: str | None


class EntityList(BaseModel):
    entities: list[EntityOut]
    next_after: int | None = Field(description="Pass as ``after`` for the next page; null: done.")


class DeleteIn(BaseModel):
    why: str = Field(min_length=1, max_length=500, description="Reason, kept on the row.")


_ENTITY: dict[int | str, dict[str, Any]] = {200: {"model": EntityOut}}
NETWORK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The network: JSON (nodes, links), Cytoscape.js elements, GraphML or "
        "the i2 import CSV.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/graphml+xml": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}
Depth = Annotated[int, Query(ge=1, le=4, description="Steps from the start (1-4).")]
MaxNodes = Annotated[int, Query(ge=2, le=2000, description="Cap on nodes; then truncated.")]


def normalised_phone(text: str) -> str:
    """A phone search term: an IMEI's digits, or a number (``+``/``00`` kept as ``+``)."""
    s = "".join(ch for ch in text if ch not in " -().")
    s = "+" + s[2:] if s.startswith("00") else s
    digits = s[1:] if s.startswith("+") else s
    if not (digits.isascii() and digits.isdigit() and 4 <= len(digits) <= 16):
        raise InvalidRequest(f"phone {text!r} is not 4-16 digits (with an optional +)")
    return s


def network_response(net: network_store.Network, fmt: str, name: str) -> Response:
    if fmt == "graphml":
        return Response(
            export.graphml(net),
            media_type="application/graphml+xml",
            headers={"Content-Disposition": f'attachment; filename="{name}.graphml"'},
        )
    if fmt == "i2":
        return Response(
            export.i2_csv(net),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}-i2.csv"'},
        )
    meta = {"depth": net.depth, "truncated": net.truncated}
    if fmt == "cytoscape":
        return json_response({"elements": export.cytoscape(net), **meta})
    return json_response({"nodes": net.nodes, "links": net.links, **meta})


@router.post(
    "",
    summary="Create an entity (analyst)",
    status_code=201,
    responses={201: {"model": EntityOut}},
)
async def create(body: EntityIn, conn: WriteConn, principal: Analyst) -> JSONResponse:
    raw = body.model_dump()
    reject_nul(raw)
    entity = domain.normalise_entity(raw)
    new_id = await store.create_entity(
        conn, entity, agency_id=agency_of(principal), by=principal.user
    )
    return json_response(await store.get_entity(conn, new_id), 201)


@router.get(
    "",
    summary="Search entities by name, plate or phone (id order, keyset paging)",
    dependencies=[Depends(audited)],
    responses={200: {"model": EntityList}},
)
async def search(
    conn: ReadConn,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="In labels.")] = None,
    kind: EntityKind | None = None,
    plate: Annotated[str | None, Query(max_length=40, description="Any spelling.")] = None,
    phone: Annotated[str | None, Query(max_length=30, description="IMEI or number.")] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    deleted: bool = False,
) -> JSONResponse:
    reject_nul(q or "", "q")
    norm = None
    if plate is not None:
        found = normalise_plate(plate)
        if found is None:
            raise InvalidRequest(f"plate {plate!r} is empty, over 20 characters or not text")
        norm = found.plate
    rows = await store.search_entities(
        conn,
        q=q,
        kind=kind,
        plate=norm,
        phone=None if phone is None else normalised_phone(phone),
        after=after,
        limit=limit,
        deleted=deleted,
    )
    return json_response({"entities": rows, "next_after": rows[-1]["id"] if rows else None})


@router.get(
    "/{entity_id:int}", summary="One entity", dependencies=[Depends(audited)], responses=_ENTITY
)
async def get_one(conn: ReadConn, entity_id: EntityId) -> JSONResponse:
    return json_response(await store.get_entity(conn, entity_id))


@router.post(
    "/{entity_id:int}/delete",
    summary="Soft-delete an entity with a reason (analyst)",
    responses=_ENTITY,
)
async def delete(
    body: DeleteIn, conn: WriteConn, entity_id: EntityId, principal: Analyst
) -> JSONResponse:
    reject_nul(body.why, "why")
    await store.delete_entity(conn, entity_id, by=principal.user, why=body.why)
    return json_response(await store.get_entity(conn, entity_id))


@router.get(
    "/{entity_id:int}/network",
    summary="The entity's neighbourhood: nodes and links within depth steps",
    dependencies=[Depends(audited)],
    responses=NETWORK_RESPONSES,
)
async def network(
    conn: ReadConn,
    entity_id: EntityId,
    depth: Depth = 2,
    max_nodes: MaxNodes = 300,
    format: Format = "json",
) -> Response:
    net = await network_store.network(
        conn, [("entity", entity_id)], depth=depth, max_nodes=max_nodes
    )
    return network_response(net, format, f"entity-{entity_id}")


class LinkReadsIn(BaseModel):
    since: UtcTime = Field(description="RFC 3339 with offset.")
    until: UtcTime = Field(description="RFC 3339 with offset, exclusive; at most 366 days on.")
    limit: int = Field(default=1000, ge=1, le=10000, description="The newest reads first.")


class LinkReadsOut(BaseModel):
    created: int = Field(description="New seen_in links to plate reads.")


@router.post(
    "/{entity_id:int}/link-reads",
    summary="Link a vehicle to its plate reads in a window (analyst)",
    responses={200: {"model": LinkReadsOut}},
)
async def link_reads(
    body: LinkReadsIn, conn: WriteConn, entity_id: EntityId, principal: Analyst
) -> JSONResponse:
    entity = await store.live_entity(conn, entity_id)
    if entity["plate"] is None:
        raise InvalidRequest(f"entity {entity_id} is not a vehicle with a plate")
    if not timedelta(0) < body.until - body.since <= timedelta(days=366):
        raise InvalidRequest("since must be before until, at most 366 days before")
    created = await link_store.link_plate_reads(
        conn,
        entity,
        since=body.since,
        until=body.until,
        limit=body.limit,
        agency_id=agency_of(principal),
        by=principal.user,
    )
    return json_response({"created": created})


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
