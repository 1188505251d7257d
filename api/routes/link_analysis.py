"""Link analysis over the API: the shortest chain of links between two nodes, repeat
offenders (entities linked to at least k seizure cases or incidents in a period), and the
vehicles read at the same posts within minutes of a vehicle (co-occurrence).

Both are read under the caller's row-level security and audited like tracks: a chain never
passes through a row the caller may not see, and a hidden end is a 404 like a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import audited
from api.common import RESPONSES, UtcTime, json_response
from api.deps import ReadConn
from api.routes.entities import NETWORK_RESPONSES, EntityId, EntityKind, Format, network_response
from geomon.errors import InvalidRequest
from geomon.store import entities as entity_store
from geomon.store import link_analysis as store
from geomon.store.network import Network

router = APIRouter(prefix="/entities", tags=["entities"], responses=RESPONSES)
EndKind = Literal["entity", "case", "incident", "observation", "event"]


class RepeatOffender(BaseModel):
    id: int
    agency: str
    kind: str
    identity: str | None
    label: str
    linked: int = Field(description="Distinct cases and incidents linked in the period.")
    case_ids: list[int]
    incident_ids: list[int]
    first_at: str
    last_at: str


class RepeatOffenders(BaseModel):
    entities: list[RepeatOffender]


@router.get(
    "/{entity_id:int}/path",
    summary="The shortest chain of links from an entity to another node",
    dependencies=[Depends(audited)],
    responses=NETWORK_RESPONSES,
)
async def path(
    conn: ReadConn,
    entity_id: EntityId,
    to: Annotated[int, Query(ge=1, le=2**63 - 1, description="Id of the other end.")],
    to_kind: EndKind = "entity",
    max_depth: Annotated[int, Query(ge=1, le=8, description="Most links in the chain.")] = 6,
    format: Format = "json",
) -> Response:
    found = await store.shortest_path(
        conn, ("entity", entity_id), (to_kind, to), max_depth=max_depth, max_nodes=5000
    )
    net = found or Network()
    if format != "json":
        return network_response(net, format, f"path-{entity_id}-{to_kind}-{to}")
    doc: dict[str, Any] = {"found": found is not None, "length": len(net.links)}
    return json_response({**doc, "nodes": net.nodes, "links": net.links})


@router.get(
    "/repeat-offenders",
    summary="Entities linked to at least k seizure cases or incidents in a period",
    dependencies=[Depends(audited)],
    responses={200: {"model": RepeatOffenders}},
)
async def repeat_offenders(
    conn: ReadConn,
    at_least: Annotated[int, Query(ge=2, le=1000, description="k: the fewest links.")] = 2,
    since: Annotated[UtcTime | None, Query(description="RFC 3339; cases from then.")] = None,
    until: Annotated[UtcTime | None, Query(description="RFC 3339, exclusive.")] = None,
    kind: EntityKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    if since is not None and until is not None and since >= until:
        raise InvalidRequest("since must be before until")
    rows = await store.repeat_offenders(
        conn, at_least=at_least, since=since, until=until, kind=kind, limit=limit
    )
    return json_response({"entities": rows})


class ReadTogether(BaseModel):
    plate: str = Field(description="The other normalised plate.")
    times: int = Field(description="Reads of this vehicle that plate was read beside.")
    posts: list[str]
    first_at: str
    last_at: str
    entity_id: int | None = Field(description="The vehicle entity of that plate, if any.")
    entity_label: str | None


class CoOccurrences(BaseModel):
    plate: str
    since: str
    until: str
    window_s: int
    vehicles: list[ReadTogether]


@router.get(
    "/{entity_id:int}/co-occurrences",
    summary="Vehicles read at the same posts within minutes of this vehicle",
    dependencies=[Depends(audited)],
    responses={200: {"model": CoOccurrences}},
)
async def co_occurrences(
    conn: ReadConn,
    entity_id: EntityId,
    window_s: Annotated[int, Query(ge=1, le=3600, description="Seconds either side.")] = 300,
    since: Annotated[
        UtcTime | None, Query(description="RFC 3339; default until − 90 days.")
    ] = None,
    until: Annotated[UtcTime | None, Query(description="RFC 3339, exclusive; default now.")] = None,
    at_least: Annotated[int, Query(ge=1, le=1000, description="Fewest shared reads.")] = 1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    entity = await entity_store.live_entity(conn, entity_id)
    if entity["plate"] is None:
        raise InvalidRequest(f"entity {entity_id} is not a vehicle with a plate")
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=90)
    if not timedelta(0) < until - since <= timedelta(days=366):
        raise InvalidRequest("since must be before until, at most 366 days before")
    rows = await store.read_together(
        conn,
        entity["plate"],
        since=since,
        until=until,
        window_s=window_s,
        at_least=at_least,
        limit=limit,
    )
    doc = {"plate": entity["plate"], "since": since, "until": until, "window_s": window_s}
    return json_response({**doc, "vehicles": rows})


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
