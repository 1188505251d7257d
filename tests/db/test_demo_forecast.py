"""The demo's planted seasons are found by the forecast: the synthetic incidents of
``geomon demo-data`` (its default count and history) along the Afghan–Tajik border peak in
early summer, and the forecast says so and beats "same month last year" there; at the high
passes it expects the winter low."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest
import shapely

from geomon import demo
from geomon.analysis import forecasts as service
from geomon.reference import read_places
from geomon.store import forecasts as store
from geomon.store.devices import ensure_agency
from geomon.store.incidents import copy_incidents
from tests.conftest import REFERENCE

pytestmark = pytest.mark.db
NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)  # a planner opens the console in March
SINCE, UNTIL = datetime(2020, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
N_INCIDENTS, MONTHS = 12_000, 72  # geomon demo-data's defaults
JUNE = 5


@pytest.fixture(scope="module")
def planted(db_url: str) -> Iterator[dict]:
    places = read_places(REFERENCE / "places_central_asia.csv")
    source = f"demo-fc-{uuid.uuid4().hex[:8]}"
    # one category of their own: other tests of the session put incidents on AFG-TJK too
    category = source
    with psycopg.connect(db_url) as conn:
        for code, name in demo.AGENCIES.values():
            ensure_agency(conn, code, name)
        lines = store.border_lines(conn, "AFG-TJK")
        stretches = demo.stretch_points(shapely.union_all([g for _, g in lines]))
        incidents = demo.demo_incidents(
            places, N_INCIDENTS, now=NOW, months=MONTHS, border_stretches=stretches
        )
        rows = [
            dict(dataclasses.asdict(i), agency=i.agency_code, category=category) for i in incidents
        ]
        copy_incidents(conn, rows, source=source)
        conn.commit()
        yield {"conn": conn, "stretches": stretches, "places": places, "category": category}
        conn.execute("DELETE FROM incidents WHERE source = %s", (source,))
        conn.commit()


def _run(planted: dict, **kw) -> list[dict]:
    conn = planted["conn"]
    params = service.ForecastRunParams(since=SINCE, until=UNTIL, category=planted["category"], **kw)
    out = service.run(conn, params, created_by="test")
    conn.commit()
    return store.read_cells(conn, out.run_id)


def test_sectors_of_the_afghan_tajik_border_peak_in_early_summer(planted: dict) -> None:
    cells = _run(planted, units="border_sectors", border="AFG-TJK", sector_km=25)
    by_total = sorted(cells, key=lambda c: -sum(v or 0 for v in c["series"]["history"]))
    hot = by_total[: len(planted["stretches"])]
    assert all(c["status"] == "ok" for c in hot)
    peaks = [c["peak_pos"] for c in hot]
    # the planted peak is June (rate 2.2, May 1.6, July 1.5): every hot sector peaks in May-July,
    # and June is the most common answer
    assert set(peaks) <= {JUNE - 1, JUNE, JUNE + 1}, peaks
    assert peaks.count(JUNE) > len(peaks) / 2, peaks
    # and the forecast beats "same month last year" there, on the held-back steps
    assert all(c["mase"] < c["mase_naive"] and c["rmse"] < c["rmse_naive"] for c in hot)
    assert sum(c["trusted"] for c in hot) >= len(hot) - 1
    # March is the first forecast step: May and June are expected well above March
    for c in hot:
        f = c["series"]["forecast"]
        assert f[2] > f[0] and f[3] > f[0]
    # sectors far from any planted stretch have no data, and no forecast
    empty = [c for c in cells if c["status"] == "no_data"]
    assert empty and all(c["expected_next"] is None for c in empty)


def test_the_high_passes_expect_a_winter_low(planted: dict) -> None:
    cells = _run(planted, units="crossing_points", buffer_km=15)
    passes = [c for c in cells if c["name"].split()[0] in demo.HIGH_PASSES]
    assert len(passes) == len(demo.HIGH_PASSES)
    for c in passes:
        assert c["status"] == "ok", c["name"]
        f = np.array(c["series"]["forecast"])  # March 2026 .. February 2027
        winter, summer = f[[9, 10, 11]], f[[3, 4, 5]]  # Dec-Feb, Jun-Aug
        assert winter.max() < summer.min(), (c["name"], f.round(2).tolist())
        assert c["peak_pos"] in range(4, 9), c["name"]  # May-September
