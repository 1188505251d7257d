"""Hotspot run parameters (validation, stored round trip) and the float8[] wire decoder."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from geomon.analysis.hotspot_compute import time_steps
from geomon.analysis.hotspot_params import HotspotParams, InputFilter
from geomon.analysis.hotspots import pinned
from geomon.store.hotspot_inputs import decode_float8_array


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "gistar", "cell_size": 10},
        {"kind": "gistar", "distance_band": 1000, "knn": 4},
        {"kind": "gistar", "seed": 3},
        {"kind": "ehsa", "permutations": 99},
        {"kind": "gistar", "filter": {"bbox": [1, 2, 3, 4], "country": "UZB"}},
        {"kind": "gistar", "filter": {"border": "TJK-UZB"}},
        {"kind": "gistar", "filter": {"bbox": [10, 5, 5, 10]}},
        {"kind": "gistar", "filter": {"since": "2025-01-01T00:00:00"}},
        {"kind": "gistar", "filter": {"aoi": {"type": "Point", "coordinates": [1, 2]}}},
        {
            "kind": "gistar",
            "filter": {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
        },
        {"kind": "gistar", "bogus": 1},
        {"kind": "corridor"},
    ],
)
def test_invalid_params_are_refused(body) -> None:
    with pytest.raises(ValidationError):
        HotspotParams.model_validate(body)


def test_stored_params_round_trip_and_window_pinning() -> None:
    p = HotspotParams(
        kind="ehsa",
        cell_size=7500,
        step="week",
        filter=InputFilter(category="seizure", border="AFG-TJK", buffer_km=25),
    )
    now = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    fixed = pinned(p, now)
    assert fixed.filter.until == now.replace(microsecond=0) and p.filter.until is None
    params, filt = fixed.stored()
    params["derived"] = {"weights": {"threshold_m": 1}}  # values chosen from the data
    back = HotspotParams.from_stored("ehsa", params, filt)
    assert back == fixed
    assert pinned(back, datetime(2030, 1, 1, tzinfo=UTC)) == back  # a closed window stays


def test_month_and_week_steps() -> None:
    t = np.array([datetime(2024, m, 15, tzinfo=UTC).timestamp() for m in (1, 2, 12)])
    idx, n = time_steps(
        t,
        "month",
        datetime(2024, 1, 1, tzinfo=UTC).timestamp(),
        datetime(2025, 1, 1, tzinfo=UTC).timestamp(),
    )
    assert n == 12 and idx.tolist() == [0, 1, 11]
    idx, n = time_steps(t, "week", t[0], t[0] + 3 * 7 * 86400 + 1)
    assert n == 4 and idx[0] == 0


def _pg_float8_array(values: list[float]) -> bytes:
    head = struct.pack(">iiiii", 1, 0, 701, len(values), 1)
    return head + b"".join(struct.pack(">id", 8, v) for v in values)


def test_decode_float8_array_matches_postgres_wire_format() -> None:
    values = [0.0, -1.5, 66.123456789012, 1e300]
    np.testing.assert_array_equal(decode_float8_array(_pg_float8_array(values)), values)
    assert decode_float8_array(None).size == 0
    assert decode_float8_array(struct.pack(">iii", 0, 0, 701)).size == 0
    with pytest.raises(ValueError):
        decode_float8_array(struct.pack(">iiiii", 1, 1, 701, 1, 1) + struct.pack(">i", -1))
