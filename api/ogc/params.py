"""Validation of OGC API – Features query parameters (bbox, datetime, limit, cursor).

Every failure raises :class:`~geomon.errors.InvalidRequest` with a message saying what is
wrong; the OGC routes turn it into 400 as the standard requires.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from geomon.errors import InvalidRequest

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10
ITEM_PARAMS = frozenset({"f", "limit", "bbox", "datetime", "cursor"})

_BAD_CURSOR = "cursor is not one this server issued (follow the next/prev links)"
Box = tuple[float, float, float, float]


def parse_bbox(text: str | None) -> tuple[Box, ...]:
    """``minLon,minLat,maxLon,maxLat`` (or 6 numbers with heights, which are ignored), in
    CRS84. minLon > maxLon crosses the antimeridian and becomes two boxes."""
    if text is None or text == "":
        return ()
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise InvalidRequest(f"bbox must have 4 or 6 comma-separated numbers, got {len(parts)}")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise InvalidRequest(f"bbox values must be numbers: {text!r}") from None
    if not all(math.isfinite(n) for n in nums):
        raise InvalidRequest("bbox values must be finite numbers")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    x0, y0, x1, y1 = nums
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180):
        raise InvalidRequest("bbox longitudes must be within [-180, 180]")
    if not (-90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise InvalidRequest("bbox latitudes must be within [-90, 90]")
    if y0 > y1:
        raise InvalidRequest(
            f"bbox order is minLon,minLat,maxLon,maxLat: minLat {y0} > maxLat {y1}"
        )
    if x0 > x1:
        return ((x0, y0, 180.0, y1), (-180.0, y0, x1, y1))
    return ((x0, y0, x1, y1),)


def _instant(text: str, *, end: bool) -> datetime:
    """An RFC 3339 date-time (offset required) or a full date (whole UTC day)."""
    try:
        if "T" not in text.upper() and len(text) == 10:
            d = date.fromisoformat(text)
            base = datetime.combine(d, time(), tzinfo=UTC)
            return base + timedelta(days=1) - timedelta(microseconds=1) if end else base
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"datetime {text!r} is not RFC 3339 (e.g. 2026-11-28T10:00:00Z, an interval "
            "START/END, or open ends with '..')"
        ) from None
    if value.tzinfo is None:
        raise InvalidRequest(f"datetime {text!r} needs a time zone offset (e.g. Z)")
    return value.astimezone(UTC)


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None]:
    """An instant (start = end) or an interval ``a/b`` with open ends ``..`` or empty."""
    if text is None or text == "":
        return None, None
    if "/" not in text:
        if text == "..":
            raise InvalidRequest("datetime '..' is only allowed as one end of an interval")
        return _instant(text, end=False), _instant(text, end=True)
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidRequest(f"datetime interval must be START/END, got {text!r}")
    a, b = (p.strip() for p in parts)
    if a in ("", "..") and b in ("", ".."):
        raise InvalidRequest("datetime interval needs at least one closed end")
    start = None if a in ("", "..") else _instant(a, end=False)
    end = None if b in ("", "..") else _instant(b, end=True)
    if start and end and start > end:
        raise InvalidRequest(f"datetime interval start {a} is after its end {b}")
    return start, end


def parse_limit(value: int | None) -> int:
    """Default 10; at least 1; above the maximum it is clamped to 10,000 (as Part 1 allows)."""
    if value is None:
        return DEFAULT_LIMIT
    if value < 1:
        raise InvalidRequest(f"limit must be at least 1, got {value}")
    return min(value, MAX_LIMIT)


def encode_cursor(direction: str, key: tuple[Any, ...]) -> str:
    raw = json.dumps([direction, [str(k) for k in key]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None, key_len: int) -> tuple[str, tuple[str, ...]] | None:
    """(``next``|``prev``, key values) from an opaque cursor; InvalidRequest when forged."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        direction, key = json.loads(raw)
    except (ValueError, binascii.Error, TypeError):
        raise InvalidRequest(_BAD_CURSOR) from None
    if (
        direction not in ("next", "prev")
        or not isinstance(key, list)
        or len(key) != key_len
        or not all(isinstance(k, str) for k in key)
    ):
        raise InvalidRequest(_BAD_CURSOR)
    return direction, tuple(key)


def check_unknown(params: Any, allowed: frozenset[str]) -> None:
    unknown = sorted(set(params.keys()) - allowed)
    if unknown:
        raise InvalidRequest(
            f"unknown query parameter(s): {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
