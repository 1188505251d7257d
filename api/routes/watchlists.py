"""``/api/v1/watchlists``: plate watch-list entries per agency (docs/plates.md).

List (own entries and those shared with the caller's agency, scope ``watchlists``), add one,
import a CSV file (refused whole, every bad row named), remove (a soft delete with a reason).
Every read, addition and removal is written to the audit log with the entry ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import audited
from api.common import RESPONSES, UtcTime, json_response, reject_nul, upload_text
from api.deps import Analyst, ReadConn, WriteConn, agency_of
from geomon import watchlists as domain
from geomon.errors import InvalidRequest
from geomon.plates import normalise_plate
from geomon.store import watchlists as store

router = APIRouter(
    prefix="/watchlists",
    tags=["watchlists"],
    responses={**RESPONSES, 403: {"description": "Changes need the analyst role."}},
)
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Watch-list entry id.")]


class EntryIn(BaseModel):
    """One entry: an exact plate, or a pattern with ``*`` (any run) and ``?`` (one)."""

    plate: str = Field(min_length=1, max_length=40, examples=["123ABC02", "01KG*"])
    reason: str = Field(default="", max_length=domain.MAX_REASON_LEN)
    priority: str = Field(default="high", description="high (critical alarm), medium, low.")
    country: str | None = Field(default=None, max_length=3, description="KZ, KG, TJ, UZ…")
    list: str = Field(default="default", max_length=64, description="List name in the agency.")
    valid_from: UtcTime | None = Field(default=None, description="Default: now.")
    valid_until: UtcTime | None = Field(default=None, description="Default: open-ended.")


class EntryOut(BaseModel):
    id: int
    agency: str
    list: str
    plate: str = Field(description="Normalised plate or pattern, as matched.")
    raw: str = Field(description="As the analyst typed it.")
    is_pattern: bool
    country: str | None
    reason: str
    priority: str
    valid_from: datetime
    valid_until: datetime | None
    added_by: str
    added_at: datetime
    removed_at: datetime | None
    removed_by: str | None
    removed_why: str | None
    active: bool = Field(description="Not removed and valid now.")


class EntryList(BaseModel):
    entries: list[EntryOut]
    next_before: int | None = Field(description="Pass as ``before`` for the next page.")


class Imported(BaseModel):
    imported: int
    ids: list[int]


def _audit(request: Request, **params: Any) -> None:
    request.state.audit_params = params


@router.get(
    "",
    summary="Watch-list entries the caller's agency may see, newest first (audited)",
    dependencies=[Depends(audited)],
    responses={200: {"model": EntryList}},
)
async def list_entries(
    request: Request,
    conn: ReadConn,
    plate: Annotated[str | None, Query(max_length=40, description="Exact plate.")] = None,
    list_name: Annotated[str | None, Query(alias="list", max_length=64)] = None,
    include_removed: Annotated[bool, Query(description="Removed entries too.")] = False,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    norm = None
    if plate is not None:
        reject_nul(plate, "plate")
        found = normalise_plate(plate)
        if found is None:
            raise InvalidRequest(f"plate {plate!r} is not a plate (empty, too long, control)")
        norm = found.plate
    rows = await store.list_entries(
        conn,
        limit=limit,
        before=before,
        list_name=list_name,
        plate=norm,
        include_removed=include_removed,
    )
    _audit(request, entry_ids=[r["id"] for r in rows])
    nxt = rows[-1]["id"] if len(rows) == limit else None
    return json_response({"entries": rows, "next_before": nxt})


@router.get(
    "/{entry_id:int}",
    summary="One entry (audited)",
    dependencies=[Depends(audited)],
    responses={200: {"model": EntryOut}},
)
async def get_entry(request: Request, conn: ReadConn, entry_id: EntryId) -> JSONResponse:
    row = await store.get_entry(conn, entry_id)
    _audit(request, entry_ids=[entry_id])
    return json_response(row)


@router.post(
    "", status_code=201, summary="Add an entry (analyst)", responses={201: {"model": EntryOut}}
)
async def add_entry(request: Request, body: EntryIn, conn: WriteConn, who: Analyst) -> JSONResponse:
    reject_nul(body.model_dump(mode="json"))
    entry = domain.make_entry(body.model_dump())
    ids = await store.add_entries(conn, [entry], agency_id=agency_of(who), added_by=who.user)
    _audit(request, entry_ids=ids, plate=entry.plate)
    return json_response(await store.get_entry(conn, ids[0]), 201)


@router.post(
    "/import",
    status_code=201,
    summary="Import entries from a CSV file, all or none (analyst)",
    description="Body: text/csv with a header; columns "
    + ", ".join(domain.CSV_COLUMNS)
    + " (only plate is required). A file with any bad row is refused whole with a 422 "
    "naming each bad row (row 1 is the header).",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
    responses={201: {"model": Imported}},
)
async def import_entries(request: Request, conn: WriteConn, who: Analyst) -> JSONResponse:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("text/csv", "text/plain"):
        raise InvalidRequest("send the file as text/csv")
    entries = domain.parse_csv(upload_text(await request.body()))
    ids = await store.add_entries(conn, entries, agency_id=agency_of(who), added_by=who.user)
    _audit(request, imported=len(ids), first_id=ids[0], last_id=ids[-1])
    return json_response({"imported": len(ids), "ids": ids}, 201)


@router.delete(
    "/{entry_id:int}",
    status_code=204,
    summary="Remove an entry of the caller's agency (analyst); it stays in history",
)
async def remove_entry(
    request: Request,
    conn: WriteConn,
    who: Analyst,
    entry_id: EntryId,
    why: Annotated[str, Query(max_length=500, description="Why it is removed.")] = "",
) -> Response:
    reject_nul(why, "why")
    await store.remove_entry(conn, entry_id, removed_by=who.user, why=why)
    _audit(request, entry_ids=[entry_id], why=why)
    return Response(status_code=204)


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
