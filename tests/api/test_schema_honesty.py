"""What schemathesis found the OpenAPI document and the app disagreeing on (issue 14): the
``Allow`` header of a 405, numbers taken as times, a 400 or 409 no document mentioned, an
id path matching a word."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.seed import Seed


@pytest.fixture(scope="module")
def doc(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def test_405_lists_every_method_of_the_path(client: TestClient, seed: Seed) -> None:
    r = client.options("/api/v1/zones")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, POST"
    assert "allowed: GET, HEAD, POST" in r.json()["detail"]
    r = client.put("/api/v1/incidents/1")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}


def test_a_word_is_not_an_id(client: TestClient) -> None:
    # /incidents/{incident_id} used to take "import" as an id and answer 422 for PATCH
    r = client.patch("/api/v1/incidents/import", json={})
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert client.get("/api/v1/zones/first").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events?until=0.5",
        "/api/v1/events?since=1700000000",
        "/api/v1/coverage?surface_id=1&since=0.5&until=2000-01-01T00:00:00Z",
        "/api/v1/map/track/1?start=1e9",
    ],
)
def test_numbers_are_not_times(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert "RFC 3339" in r.text


def test_times_with_offsets_still_accepted(client: TestClient, seed: Seed) -> None:
    r = client.get("/api/v1/events", params={"since": "2026-11-20T05:00:00+05:00"})
    assert r.status_code == 200, r.text


def test_conflict_is_409_and_documented(client: TestClient, doc: dict[str, Any]) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [[[71.0, 40.0], [71.1, 40.0], [71.1, 40.1], [71.0, 40.1], [71.0, 40.0]]],
    }
    body = {"name": "schema-honesty zone", "kind": "patrol_area", "geometry": square}
    first = client.post("/api/v1/zones", json=body)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/zones", json=body)
    assert again.status_code == 409 and "already has a zone" in again.json()["detail"]
    assert "409" in doc["paths"]["/api/v1/zones"]["post"]["responses"]
    assert "409" not in doc["paths"]["/api/v1/zones"]["get"]["responses"]


def test_unparseable_body_is_a_documented_400(client: TestClient, doc: dict[str, Any]) -> None:
    r = client.post(
        "/api/v1/zones", content=b"!\xff\x16", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("requestBody"):
                assert "400" in op["responses"], f"{method.upper()} {path}"
