"""``/api/v1/links``: an entity tied to an entity, case, incident, observation or event.

A link is created by an analyst of the owning agency and records its kind, source,
confidence, valid time and who added it. Both ends must be visible to the caller: a link to a
row of an agency that does not share it is refused with 404, in the same words as a row that
does not exist. ``/api/v1/network`` walks the neighbourhood of a selection (entities, cases,
incidents) like ``/entities/{id}/network``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import audited
from api.common import RESPONSES, UtcTime, json_response, reject_nul
from api.deps import Analyst, ReadConn, WriteConn, agency_of
from api.routes.entities import (
    NETWORK_RESPONSES,
    DeleteIn,
    Depth,
    Format,
    MaxNodes,
    network_response,
)
from geomon import entities as domain
from geomon.errors import InvalidRequest
from geomon.store import links as store
from geomon.store import network as network_store

router = APIRouter(
    tags=["links"],
    responses={**RESPONSES, 403: {"description": "Writes need the analyst role."}},
)
LinkId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Link id.")]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
LinkKind = Literal[
    "associate",
    "family",
    "owns",
    "drives",
    "uses",
    "member_of",
    "called",
    "involved_in",
    "seized_in",
    "seen_in",
    "other",
]
TargetKind = Literal["entity", "case", "incident", "observation", "event"]
MAX_SEEDS = 50


class LinkIn(BaseModel):
    """From entity ``entity_id`` to the row ``to_id`` of kind ``to_kind``."""

    entity_id: RowId
    kind: LinkKind
    to_kind: TargetKind
    to_id: RowId
    source: str = Field(default="api", max_length=100, description="Where the link is from.")
    confidence: float | None = Field(default=None, ge=0, le=1, description="0-1.")
    valid_from: UtcTime | None = Field(default=None, description="RFC 3339 with offset.")
    valid_until: UtcTime | None = None
    note: str = Field(default="", max_length=2000)


class LinkOut(BaseModel):
    id: int
    agency: str
    kind: str
    entity_id: int
    to_kind: str
    to_id: int
    entity_label: str
    to_label: str | None
    source: str
    confidence: float | None
    valid_from: str | None
    valid_until: str | None
    note: str
    added_by: str
    added_at: str
    deleted_at: str | None
    deleted_by: str | None
    deleted_why: str | None


class LinkList(BaseModel):
    links: list[LinkOut]
    next_after: int | None = Field(description="Pass as ``after`` for the next page; null: done.")


_LINK: dict[int | str, dict[str, Any]] = {200: {"model": LinkOut}}
Ids = Annotated[list[int] | None, Query(max_length=MAX_SEEDS, description="Ids (repeatable).")]


@router.post(
    "/links",
    summary="Link an entity to an entity, case, incident, observation or event (analyst)",
    status_code=201,
    responses={201: {"model": LinkOut}},
)
async def create(body: LinkIn, conn: WriteConn, principal: Analyst) -> JSONResponse:
    raw = body.model_dump()
    reject_nul(raw)
    link = domain.normalise_link(raw)
    new_id = await store.create_link(
        conn,
        link,
        entity_id=body.entity_id,
        to_id=body.to_id,
        agency_id=agency_of(principal),
        by=principal.user,
    )
    return json_response(await store.get_link(conn, new_id), 201)


@router.get(
    "/links",
    summary="Links of an entity or a case (id order, keyset paging)",
    dependencies=[Depends(audited)],
    responses={200: {"model": LinkList}},
)
async def list_links(
    conn: ReadConn,
    entity: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    case: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    kind: LinkKind | None = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    deleted: bool = False,
) -> JSONResponse:
    rows = await store.list_links(
        conn, entity=entity, case=case, kind=kind, after=after, limit=limit, deleted=deleted
    )
    return json_response({"links": rows, "next_after": rows[-1]["id"] if rows else None})


@router.get(
    "/links/{link_id:int}", summary="One link", dependencies=[Depends(audited)], responses=_LINK
)
async def get_one(conn: ReadConn, link_id: LinkId) -> JSONResponse:
    return json_response(await store.get_link(conn, link_id))


@router.post(
    "/links/{link_id:int}/delete",
    summary="Soft-delete a link with a reason (analyst)",
    responses=_LINK,
)
async def delete(
    body: DeleteIn, conn: WriteConn, link_id: LinkId, principal: Analyst
) -> JSONResponse:
    reject_nul(body.why, "why")
    await store.delete_link(conn, link_id, by=principal.user, why=body.why)
    return json_response(await store.get_link(conn, link_id))


@router.get(
    "/network",
    summary="The neighbourhood of a selection of entities, cases and incidents",
    dependencies=[Depends(audited)],
    responses=NETWORK_RESPONSES,
)
async def network(
    conn: ReadConn,
    entity: Ids = None,
    case: Ids = None,
    incident: Ids = None,
    depth: Depth = 2,
    max_nodes: MaxNodes = 300,
    format: Format = "json",
) -> Response:
    seeds = [("entity", i) for i in entity or []]
    seeds += [("case", i) for i in case or []] + [("incident", i) for i in incident or []]
    if not seeds:
        raise InvalidRequest("give at least one entity, case or incident")
    if len(seeds) > MAX_SEEDS or any(not 1 <= i < 2**63 for _, i in seeds):
        raise InvalidRequest(f"at most {MAX_SEEDS} ids, each between 1 and 2^63-1")
    net = await network_store.network(conn, seeds, depth=depth, max_nodes=max_nodes)
    return network_response(net, format, "network")


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
