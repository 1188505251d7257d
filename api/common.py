"""What the resource routers share that is not a dependency: documented error responses,
JSON of rows, time windows, bboxes, keyset paging parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from api.ogc.params import parse_bbox
from geomon.errors import InvalidRequest
from geomon.rfc3339 import rfc3339_text

MAX_WINDOW = timedelta(days=31)
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated (missing, expired or invalid token/session)."},
    403: {"description": "Authenticated but the role may not do this."},
}
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


def _in_utc(t: datetime) -> datetime:
    try:
        return t.astimezone(UTC)
    except OverflowError:  # a ValueError is a 422 that says so; OverflowError would be a 500
        raise ValueError(f"time {t.isoformat()} has no UTC form in the years 1-9999") from None


# Sent to PostgreSQL in UTC: it refuses offsets beyond ±15:59, which RFC 3339 allows.
UtcTime = Annotated[AwareDatetime, BeforeValidator(rfc3339_text), AfterValidator(_in_utc)]


Start = Annotated[
    UtcTime | None, Query(description="Window start (RFC 3339, with offset); default end − 24 h.")
]
End = Annotated[
    UtcTime | None,
    Query(description="Window end, exclusive; default now. The window spans at most 31 days."),
]
BBox = Annotated[
    str | None, Query(description="minLon,minLat,maxLon,maxLat (CRS84).", examples=["66,36,81,46"])
]
After = Annotated[
    int | None, Query(ge=0, le=2**31 - 1, description="Keyset cursor: return ids after this one.")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (1–1000).")]


Iso3 = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
BorderCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}-[A-Za-z]{3}$")]


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


def upload_text(data: bytes) -> str:
    """An uploaded text file (CSV, GeoJSON) as text, or a 422 naming what is wrong with it: not
    UTF-8 (with the byte offset; a UTF-8 BOM is fine), or a NUL character (with the line) that
    PostgreSQL text cannot hold. Never silently replaced or dropped: that would change data."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = " (UTF-16? save it as CSV UTF-8)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        hint = hint or (" (gzip? send it uncompressed)" if data[:2] == b"\x1f\x8b" else "")
        raise InvalidRequest(f"the file is not UTF-8 (byte {exc.start}){hint}") from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise InvalidRequest(f"the file contains a NUL character (line {line})")
    return text
