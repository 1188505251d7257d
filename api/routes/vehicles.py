"""``/api/v1/vehicles/{plate}/journey``: a plate's reads across posts and countries, in time
order, with the visits (consecutive reads at one post) and the legs between posts — the time
between them, the straight-line distance and the speed it implies (``too_fast`` when faster
than ``GEOMON_PLATES__MAX_SPEED_KMH``). Audited like tracks. The reads are those the caller's
agency may see (its posts, and posts shared with it, scope ``observations``).

Seam for entities (another issue): a ``links`` member (persons, incidents linked to the
vehicle) may be added to this document; nothing here depends on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.auth import audited
from api.common import RESPONSES, UtcTime, reject_nul
from api.deps import AppSettings, ReadConn
from geomon import journeys
from geomon.errors import InvalidRequest
from geomon.plates import normalise_plate
from geomon.store import journeys as store

router = APIRouter(prefix="/vehicles", tags=["vehicles"], responses=RESPONSES)
MAX_SPAN = timedelta(days=366)
Plate = Annotated[str, Path(min_length=1, max_length=40, description="The plate, as read.")]


class Read(BaseModel):
    id: int
    observed_at: datetime
    raw: str | None
    confidence: float | None
    plate_country: str | None
    sensor: str
    agency: str
    place_id: int | None
    place: str | None
    countries: str | None
    lon: float | None
    lat: float | None
    direction: str | None
    lane: str | None
    image_ref: str | None


class Visit(BaseModel):
    place_id: int | None
    place: str | None
    countries: str | None
    sensor: str
    agency: str
    lon: float | None
    lat: float | None
    first_at: datetime
    last_at: datetime
    reads: int
    directions: list[str]


class Leg(BaseModel):
    from_: str = Field(alias="from")
    to: str
    left_at: datetime
    arrived_at: datetime
    seconds: float
    distance_km: float | None
    speed_kmh: float | None
    too_fast: bool


class Journey(BaseModel):
    plate: str
    since: datetime
    until: datetime
    reads: list[Read]
    visits: list[Visit]
    legs: list[Leg]
    countries: list[str]
    max_speed_kmh: float
    truncated: bool = Field(description="More reads than ``limit``: narrow the window.")


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=30)
    if since >= until:
        raise InvalidRequest("since must be before until")
    if until - since > MAX_SPAN:
        raise InvalidRequest("a journey spans at most 366 days: narrow since/until")
    return since, until


@router.get(
    "/{plate}/journey",
    summary="A plate's reads across posts and countries, with the time between posts (audited)",
    dependencies=[Depends(audited)],
    responses={200: {"model": Journey}},
)
async def journey(
    request: Request,
    conn: ReadConn,
    settings: AppSettings,
    plate: Plate,
    since: Annotated[UtcTime | None, Query(description="Default: until − 30 days.")] = None,
    until: Annotated[UtcTime | None, Query(description="Exclusive; default now.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most reads returned.")] = 5000,
) -> Response:
    reject_nul(plate, "plate")
    norm = normalise_plate(plate)
    if norm is None:
        raise InvalidRequest(f"{plate!r} is not a plate (empty, over 20 characters, control)")
    start, end = _window(since, until)
    reads, truncated = await store.plate_reads(conn, norm.plate, start, end, limit)
    rule = journeys.SpeedRule(settings.plates.max_speed_kmh, settings.plates.clone_min_distance_km)
    doc: dict[str, Any] = journeys.journey(norm.plate, reads, rule, truncated=truncated)
    request.state.audit_params = {"plate": norm.plate, "reads": len(reads)}
    # orjson, not jsonable_encoder: 10,000 reads took 3.7 s to encode that way (bench/journeys.py)
    body = orjson.dumps({**doc, "since": start, "until": end})
    return Response(body, media_type="application/json")


def install(app: FastAPI) -> None:
    app.include_router(router, prefix="/api/v1")
