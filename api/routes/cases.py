"""``/api/v1/cases``: seizure cases with controlled vocabularies (migration 0019).

Create-or-update by (source, external_id) — posting the same case twice changes nothing —,
read (audited like tracks), list, soft delete with a reason, and the append-only history.
Bad input is a 422 naming the field and, for vocabularies, the accepted codes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import audited
from api.common import RESPONSES, json_response, reject_nul
from api.deps import Analyst, ReadConn, WriteConn, agency_of
from geomon import cases as domain
from geomon.errors import InvalidRequest
from geomon.store import cases as store

router = APIRouter(
    prefix="/cases",
    tags=["cases"],
    responses={**RESPONSES, 403: {"description": "Writes need the analyst role."}},
)
CaseId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Case id.")]


class CaseIn(BaseModel):
    """One case; codes from ``GET /api/v1/cases/vocabularies``."""

    external_id: str = Field(min_length=1, max_length=200, description="Key in the source.")
    source: str = Field(default="api", max_length=100, description="Originating system.")
    category: str = Field(min_length=1, max_length=100)
    substance: str | None = Field(default=None, max_length=100)
    quantity: float | None = Field(default=None, description="Amount in ``unit``.")
    unit: str | None = Field(default=None, max_length=20, description="g, kg, t, plants…")
    occurred_at: str = Field(description="RFC 3339 time with offset.")
    lon: float
    lat: float
    concealment: str | None = None
    transport_mode: str | None = None
    origin_country: str | None = None
    transit_countries: list[str] = Field(default_factory=list, max_length=20)
    destination_country: str | None = None
    seizing_unit: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)


class CaseOut(BaseModel):
    """A stored case as the API returns it (times UTC ISO 8601 with offset)."""

    id: int
    agency: str
    source: str
    external_id: str
    category: str
    substance: str | None
    quantity_kg: float | None = Field(description="Mass in kg when the unit is a mass.")
    quantity_count: float | None = Field(description="Count when the unit is not a mass.")
    unit: str | None
    occurred_at: str
    lon: float
    lat: float
    concealment: str | None
    transport_mode: str | None
    origin_country: str | None
    transit_countries: list[str] | None
    destination_country: str | None
    seizing_unit: str | None
    note: str | None
    flags: list[str]
    updated_at: str
    updated_by: str | None
    deleted_at: str | None
    deleted_by: str | None
    deleted_why: str | None


class CaseList(BaseModel):
    cases: list[CaseOut]
    next_after: int | None = Field(description="Pass as ``after`` for the next page; null: done.")


class CaseChange(BaseModel):
    id: int
    action: str
    at: str
    by: str | None
    why: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class CaseHistory(BaseModel):
    history: list[CaseChange]


# The bodies go out through orjson (api.common.json_response); these models document them in
# the OpenAPI document (tests/api/test_response_models.py checks real bodies against them).
_CASE: dict[int | str, dict[str, Any]] = {200: {"model": CaseOut}}


class DeleteIn(BaseModel):
    why: str = Field(min_length=1, max_length=500, description="Reason, kept in the history.")


def _normalise(body: CaseIn, vocab: domain.Vocab) -> dict[str, Any]:
    raw = body.model_dump(mode="json")
    reject_nul(raw)
    try:
        return domain.normalise(raw, vocab)
    except domain.CaseError as exc:
        raise InvalidRequest(str(exc)) from None


@router.get("/vocabularies", summary="Accepted codes for categories, substances, units…")
async def vocabularies(conn: ReadConn) -> JSONResponse:
    v = await store.vocab(conn)
    return json_response(
        {
            "categories": sorted(v.categories),
            "substances": v.substances,
            "units": v.units,
            "concealments": sorted(v.concealments),
            "transport_modes": sorted(v.transport_modes),
        }
    )


@router.put("", summary="Create or update a case by (source, external_id) (analyst)")
async def put_case(body: CaseIn, conn: WriteConn, principal: Analyst) -> JSONResponse:
    case = _normalise(body, await store.vocab(conn))
    case_id, outcome = await store.upsert_case(
        conn, case, agency_id=agency_of(principal), source=body.source, by=principal.user
    )
    doc = {"outcome": outcome, "case": await store.get_case(conn, case_id)}
    return json_response(doc, 201 if outcome == "created" else 200)


@router.get(
    "",
    summary="List cases (id order, keyset paging)",
    dependencies=[Depends(audited)],
    responses={200: {"model": CaseList}},
)
async def list_cases(
    conn: ReadConn,
    category: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    deleted: bool = False,
) -> JSONResponse:
    rows = await store.list_cases(
        conn, category=category, after=after, limit=limit, deleted=deleted
    )
    return json_response({"cases": rows, "next_after": rows[-1]["id"] if rows else None})


@router.get("/{case_id:int}", summary="One case", dependencies=[Depends(audited)], responses=_CASE)
async def get_case(conn: ReadConn, case_id: CaseId) -> JSONResponse:
    return json_response(await store.get_case(conn, case_id))


@router.get(
    "/{case_id:int}/history",
    summary="A case's changes",
    dependencies=[Depends(audited)],
    responses={200: {"model": CaseHistory}},
)
async def history(conn: ReadConn, case_id: CaseId) -> JSONResponse:
    return json_response({"history": await store.case_history(conn, case_id)})


@router.post("/{case_id:int}/delete", summary="Soft-delete a case with a reason (analyst)")
async def delete(
    body: DeleteIn, conn: WriteConn, case_id: CaseId, principal: Analyst
) -> JSONResponse:
    reject_nul(body.why)
    await store.delete_case(conn, case_id, by=principal.user, why=body.why)
    return json_response(await store.get_case(conn, case_id))


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
