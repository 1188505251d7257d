"""Shared request limits: page size, bbox, time window (settings.limits). All raise
:class:`geomon.errors.InvalidRequest` (422) with a message that says the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from geomon.errors import InvalidRequest
from geomon.settings import LimitsSettings

BBox = tuple[float, float, float, float]


def page_size(limit: int | None, limits: LimitsSettings, *, default: int = 10) -> int:
    """The page size to use: ``default`` when absent; 1 ≤ limit ≤ the server maximum."""
    if limit is None:
        return min(default, limits.max_page_size)
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")
    if limit > limits.max_page_size:
        raise InvalidRequest(f"limit must be at most {limits.max_page_size}")
    return limit


def clamp_page_size(limit: int | None, limits: LimitsSettings, *, default: int = 10) -> int:
    """Like :func:`page_size` but a too-large limit is lowered to the maximum (OGC API
    Features lets servers do that instead of failing)."""
    if limit is not None and limit > limits.max_page_size:
        return limits.max_page_size
    return page_size(limit, limits, default=default)


def parse_bbox(text: str | None, limits: LimitsSettings | None = None) -> BBox | None:
    """``minlon,minlat,maxlon,maxlat`` in EPSG:4326 → a tuple; area capped when ``limits``."""
    if text is None or text == "":
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise InvalidRequest("bbox must be four numbers: minlon,minlat,maxlon,maxlat") from exc
    if len(values) != 4 or any(v != v for v in values):  # v != v: NaN
        raise InvalidRequest("bbox must be four numbers: minlon,minlat,maxlon,maxlat")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidRequest("bbox out of range (lon -180..180, lat -90..90, minlat ≤ maxlat)")
    if x0 > x1:
        raise InvalidRequest("bbox crossing the antimeridian is not supported")
    if limits is not None and (x1 - x0) * (y1 - y0) > limits.max_bbox_area_deg2:
        raise InvalidRequest(f"bbox larger than {limits.max_bbox_area_deg2} square degrees")
    return (x0, y0, x1, y1)


def _aware(t: datetime, name: str) -> datetime:
    if t.tzinfo is None:
        raise InvalidRequest(f"{name} needs a time zone (e.g. 2026-11-20T16:00:00Z)")
    return t.astimezone(UTC)


def time_window(
    start: datetime | None,
    end: datetime | None,
    limits: LimitsSettings,
    *,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """A closed, capped [start, end] window; open ends are filled so the span is at most the
    cap (end defaults to now, start to end minus the cap)."""
    cap = timedelta(days=limits.max_time_window_days)
    end = _aware(end, "end") if end is not None else None
    start = _aware(start, "start") if start is not None else None
    if end is None:
        end = (
            min(now or datetime.now(UTC), start + cap)
            if start is not None
            else (now or datetime.now(UTC))
        )
    if start is None:
        start = end - cap
    if start > end:
        raise InvalidRequest("the time window starts after it ends")
    if end - start > cap:
        raise InvalidRequest(f"time window longer than {limits.max_time_window_days} days")
    return start, end
