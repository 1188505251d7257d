"""``GET /api/v1/teams``: the console's team list (every device, its status and last fix).

Status rules: never seen (no fix stored), silent (newest fix older than
``api.silent_after_s``), moving (speed at least 1 m/s), else stopped. Times stay UTC ISO-8601;
the page shows them in the user's zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field

from api.deps import ReadConn
from api.state import app_state
from geomon.store.teams import team_list

router = APIRouter(tags=["devices"])
Status = Literal["moving", "stopped", "silent", "never_seen"]


class Team(BaseModel):
    """One active device and its newest fix (all null when it never reported)."""

    device_id: int
    uid: str
    name: str | None
    kind: str
    agency: str
    active: bool
    fix_time: str | None = Field(description="UTC ISO 8601 time of the newest fix.")
    lon: float | None
    lat: float | None
    speed_mps: float | None
    course_deg: float | None
    status: Status


class TeamList(BaseModel):
    teams: list[Team]
    numberReturned: int


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}


@router.get("/teams", summary="Every device with its status and latest fix")
async def teams(
    request: Request,
    conn: ReadConn,
    status: Annotated[list[Status] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name, uid or agency")] = None,
) -> TeamList:
    rows = await team_list(conn, silent_after_s=app_state(request).settings.api.silent_after_s)
    if status:
        rows = [r for r in rows if r["status"] in status]
    if q:
        needle = q.casefold()
        rows = [
            r
            for r in rows
            if any(needle in str(r[k] or "").casefold() for k in ("name", "uid", "agency"))
        ]
    return TeamList.model_validate({"teams": [_row(r) for r in rows], "numberReturned": len(rows)})


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
