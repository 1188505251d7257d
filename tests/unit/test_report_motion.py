"""Trips, stops and daily summaries (geomon.reports.motion) on hand-built fix series whose
answers are worked out by hand: metres per degree of longitude at the equator, fixed speeds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from geomon.reports.motion import EARTH_RADIUS_M, Fixes, MotionParams, daily, detect

M_PER_DEG = EARTH_RADIUS_M * np.pi / 180  # along the equator
T0 = datetime(2026, 11, 30, 17, 0, tzinfo=UTC).timestamp()  # 23:00 in Bishkek (UTC+6)


def series(*legs: tuple[float, float, float]) -> Fixes:
    """Legs of (seconds, step seconds, speed m/s) driven east along the equator."""
    t, x, v = [T0], [0.0], [0.0]
    for dur, step, speed in legs:
        for _ in range(int(dur / step)):
            t.append(t[-1] + step)
            x.append(x[-1] + speed * step / M_PER_DEG)
            v.append(speed)
    return Fixes.of(t, x, np.zeros(len(t)), v)


def test_stop_trip_stop_trip() -> None:
    f = series((600, 60, 0), (1000, 10, 10), (1200, 60, 0), (1000, 10, 5))
    m = detect(f)
    assert [round(s.duration_s) for s in m.stops] == [600, 1200]
    assert len(m.trips) == 2
    first, second = m.trips
    assert first.start_t == T0 + 600 and first.end_t == T0 + 1600
    assert first.distance_m == pytest.approx(10_000, rel=1e-6)
    assert first.max_speed_mps == 10 and first.avg_speed_mps == pytest.approx(10)
    assert second.distance_m == pytest.approx(5_000, rel=1e-6)
    assert second.start_lon == pytest.approx(10_000 / M_PER_DEG)


def test_short_halts_stay_inside_a_trip_and_short_trips_are_dropped() -> None:
    # a 2-minute queue at a checkpoint is not a stop; 300 m of shunting is not a trip
    f = series((600, 60, 0), (500, 10, 10), (120, 30, 0), (500, 10, 10), (600, 60, 0),
               (30, 10, 10), (600, 60, 0))  # fmt: skip
    m = detect(f)
    assert len(m.trips) == 1 and m.trips[0].distance_m == pytest.approx(10_000, rel=1e-6)
    assert m.trips[0].duration_s == 1120
    assert len(m.stops) == 3


def test_a_gap_without_moving_is_a_stop_a_gap_with_moving_ends_the_trip() -> None:
    parked = series((600, 10, 10), (7200, 7200, 0), (600, 10, 10))
    m = detect(parked)
    assert [s.duration_s for s in m.stops] == [7200]
    assert len(m.trips) == 2
    jumped = series((600, 10, 10), (7200, 7200, 20), (600, 10, 10))
    m = detect(jumped)
    assert m.stops == [] and len(m.trips) == 2
    assert sum(t.distance_m for t in m.trips) == pytest.approx(12_000, rel=1e-6)


def test_speed_is_derived_when_the_device_does_not_report_it() -> None:
    f = series((600, 60, 0), (1000, 10, 10), (600, 60, 0))
    blind = Fixes(f.t, f.lon, f.lat, np.full(f.t.size, np.nan))
    m = detect(blind)
    assert len(m.trips) == 1 and m.trips[0].max_speed_mps == pytest.approx(10, rel=1e-6)


def test_days_in_the_readers_zone_split_at_local_midnight() -> None:
    # 23:00 Bishkek: 10 min stopped, a drive 23:10-23:26:40, a 40-minute stop across midnight
    f = series((600, 60, 0), (1000, 10, 10), (2400, 60, 0))
    days = daily(detect(f), ZoneInfo("Asia/Bishkek"))
    assert [d.day for d in days] == [date(2026, 11, 30), date(2026, 12, 1)]
    first, second = days
    assert first.distance_m == pytest.approx(10_000, rel=1e-6)
    assert first.moving_s == 1000 and first.max_speed_mps == 10
    # stops: 600 s before the drive, 2400 s after it from 23:26:40 to 00:06:40
    assert first.stopped_s == pytest.approx(600 + 2000)
    assert second.stopped_s == pytest.approx(400) and second.distance_m == 0
    assert first.fixes + second.fixes == len(f)
    in_utc = daily(detect(f), ZoneInfo("UTC"))
    assert len(in_utc) == 1 and in_utc[0].stopped_s == pytest.approx(3000)


def test_thresholds_are_parameters() -> None:
    f = series((600, 60, 0), (400, 10, 10), (600, 60, 0))  # 4 km in 400 s
    assert len(detect(f).trips) == 1
    assert detect(f, MotionParams(min_trip_distance_m=5000)).trips == []
    assert detect(Fixes.of([T0], [0], [0], [0])).trips == []


def test_the_coverage_denominator_is_the_circle_in_cells() -> None:
    from geomon.reports.blo import circle_cells

    assert circle_cells(25_000, 1000) == pytest.approx(np.pi * 25**2, rel=0.01)
    assert circle_cells(500, 1000) == 1  # one cell whose centre is the point
    assert circle_cells(1000, 1000) == 4
