"""Bad parameters are a 4xx that names them, never a 500 (issue 14, item 6 reproductions)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.seed import Seed


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/events?device_id=2147483648",
        "/api/v1/events?zone_id=2147483648",
        "/api/v1/events?device_id=-2147483649",
        "/api/v1/events?kind=%00",
        "/api/v1/events?kind=a%00b",
        "/ogc/collections/incidents/items/99999999999999999999999999",
        "/ogc/collections/incidents/items/-99999999999999999999999999",
        "/api/v1/devices/2147483648",
        "/api/v1/devices/2147483648/positions",
        "/api/v1/incidents/99999999999999999999",
    ],
)
def test_out_of_range_and_nul_parameters_are_4xx(client: TestClient, seed: Seed, url: str) -> None:
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:300])
    assert r.json()["detail"], r.text  # says what is wrong
