"""api/limits.py: page size, bbox and time-window caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.limits import clamp_page_size, page_size, parse_bbox, time_window
from geomon.errors import InvalidRequest
from geomon.settings import LimitsSettings

L = LimitsSettings(max_page_size=100, max_bbox_area_deg2=4.0, max_time_window_days=7)
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_page_size() -> None:
    assert page_size(None, L) == 10 and page_size(100, L) == 100
    assert clamp_page_size(5000, L) == 100
    for bad in (0, -1, 101):
        with pytest.raises(InvalidRequest):
            page_size(bad, L)


def test_bbox() -> None:
    assert parse_bbox(None) is None and parse_bbox("") is None
    assert parse_bbox("70,38,71.5,39", L) == (70.0, 38.0, 71.5, 39.0)
    for bad in (
        "70,38,71",
        "a,b,c,d",
        "70,38,72.5,40",
        "70,39,71,38",
        "170,0,-170,1",
        "70,38,nan,39",
        "70,-91,71,0",
    ):
        with pytest.raises(InvalidRequest):
            parse_bbox(bad, L)
    assert parse_bbox("60,30,80,50") == (60.0, 30.0, 80.0, 50.0)  # no cap without limits


def test_time_window() -> None:
    day = timedelta(days=1)
    assert time_window(None, None, L, now=NOW) == (NOW - 7 * day, NOW)
    assert time_window(NOW - 2 * day, None, L, now=NOW) == (NOW - 2 * day, NOW)
    assert time_window(NOW - 30 * day, None, L, now=NOW) == (NOW - 30 * day, NOW - 23 * day)
    assert time_window(None, NOW - day, L, now=NOW) == (NOW - 8 * day, NOW - day)
    with pytest.raises(InvalidRequest, match="longer than 7 days"):
        time_window(NOW - 8 * day, NOW, L, now=NOW)
    with pytest.raises(InvalidRequest, match="starts after"):
        time_window(NOW, NOW - day, L, now=NOW)
    with pytest.raises(InvalidRequest, match="time zone"):
        time_window(datetime(2026, 11, 1), None, L, now=NOW)
