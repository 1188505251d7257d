"""Journey folding: visits, legs, the too-fast rule, against hand-worked cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from geomon.journeys import SpeedRule, great_circle_km, journey

T0 = datetime(2026, 11, 1, tzinfo=UTC)
RULE = SpeedRule(max_speed_kmh=100, clone_min_distance_km=5)


def _r(i: int, minutes: float, place_id: int | None, lon: float, lat: float, d=None) -> dict:
    return {"id": i, "observed_at": T0 + timedelta(minutes=minutes), "place_id": place_id,
            "place": f"P{place_id}" if place_id else None, "countries": "KAZ-KGZ",
            "sensor": f"S{i}", "agency": "A", "lon": lon, "lat": lat, "direction": d}  # fmt: skip


def test_great_circle_one_degree_of_meridian() -> None:
    assert great_circle_km(70, 40, 70, 41) == pytest.approx(111.195, abs=0.01)


def test_visits_and_legs() -> None:
    reads = [_r(1, 0, 1, 70, 40, "in"), _r(2, 3, 1, 70, 40, "out"),
             _r(3, 63, 2, 70, 41), _r(4, 70, 3, 70, 41.02)]  # fmt: skip
    doc = journey("X", reads, RULE, truncated=False)
    assert [(v["place"], v["reads"], v["directions"]) for v in doc["visits"]] == [
        ("P1", 2, ["in", "out"]), ("P2", 1, []), ("P3", 1, [])]  # fmt: skip
    a, b = doc["legs"]
    assert (a["from"], a["to"], a["seconds"]) == ("P1", "P2", 3600)
    assert a["speed_kmh"] == pytest.approx(111.2, abs=0.1) and a["too_fast"]  # 111 km/h > 100
    assert b["distance_km"] < 5 and not b["too_fast"]  # close posts never count
    assert doc["countries"] == ["KAZ", "KGZ"]


def test_sensor_without_place_is_its_own_post_and_no_position_no_speed() -> None:
    reads = [_r(1, 0, None, 70, 40), _r(2, 10, None, 70, 40)]
    reads[1]["lon"] = reads[1]["lat"] = None
    (leg,) = journey("X", reads, RULE, truncated=True)["legs"]
    assert (leg["from"], leg["to"], leg["distance_km"], leg["too_fast"]) == (
        "S1",
        "S2",
        None,
        False,
    )
