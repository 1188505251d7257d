"""Shared bits of the REST routes: JSON of rows, time windows, bboxes, role dependencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import Depends, HTTPException, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api import deps
from api.access import AUTH_RESPONSES, data_connection
from api.ogc.params import parse_bbox
from geomon.errors import InvalidRequest

MAX_WINDOW = timedelta(days=31)
Conn = Annotated[psycopg.AsyncConnection, Depends(data_connection)]
RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    404: {"description": "No such resource, or not visible to the caller's agency."},
    422: {"description": "A parameter or the body is invalid; the message says what."},
}
GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "GeoJSON (RFC 7946).",
        "content": {"application/geo+json": {"schema": {"type": "object"}}},
    }
}
_require = getattr(deps, "require_role", None)


def role(name: str) -> Any:
    """``Depends`` on the caller having at least role ``name`` (403 otherwise)."""
    return Depends(_require(name)) if _require else Depends(lambda: None)


Principal = Any
Analyst = Annotated[Principal, role("analyst")]


def json_response(doc: Any, status: int = 200, media: str = "application/json") -> JSONResponse:
    return JSONResponse(jsonable_encoder(doc), status_code=status, media_type=media)


def window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end): defaults to the last 24 h; at most 31 days; tz-aware (422 otherwise)."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=24)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequest("start and end need a time zone offset (e.g. Z)")
    if start >= end:
        raise InvalidRequest("start must be before end")
    if end - start > MAX_WINDOW:
        raise InvalidRequest("the time window may span at most 31 days")
    return start, end


def one_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    boxes = parse_bbox(text)
    if len(boxes) > 1:
        raise InvalidRequest("bbox may not cross the antimeridian here")
    return boxes[0] if boxes else None


Start = Annotated[
    datetime | None, Query(description="Window start (RFC 3339, with offset); default end − 24 h.")
]
End = Annotated[
    datetime | None,
    Query(description="Window end, exclusive; default now. The window spans at most 31 days."),
]
BBox = Annotated[
    str | None, Query(description="minLon,minLat,maxLon,maxLat (CRS84).", examples=["66,36,81,46"])
]
After = Annotated[
    int | None, Query(ge=0, le=2**31 - 1, description="Keyset cursor: return ids after this one.")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (1–1000).")]
Id = Annotated[int, "an id"]


def agency_of(principal: Any) -> int:
    agency = getattr(principal, "agency_id", None)
    if agency is None:
        raise HTTPException(422, "your user has no agency; create rows as an agency's analyst")
    return int(agency)


def reject_nul(value: Any, where: str = "body") -> None:
    """PostgreSQL text and jsonb cannot hold NUL characters: refuse them with a 422."""
    if isinstance(value, str) and "\x00" in value:
        raise InvalidRequest(f"{where} contains a NUL character")
    if isinstance(value, dict):
        for k, v in value.items():
            reject_nul(k, where)
            reject_nul(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            reject_nul(v, f"{where}[{i}]")
