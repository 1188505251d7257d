"""Cases (migration 0019) through /api/v1/cases on the seeded PostGIS: idempotent PUT by
(source, external_id), history, soft delete, row-level security across agencies, bad input."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.seed import auth_headers

CASE = {
    "external_id": "DMP-2026-000123",
    "source": "dmp",
    "category": "drug_seizure",
    "substance": "heroin",
    "quantity": 1250,
    "unit": "g",
    "occurred_at": "2026-11-20T08:30:00+06:00",
    "lon": 72.8,
    "lat": 40.5,
    "transport_mode": "car",
    "concealment": "vehicle_cache",
    "origin_country": "AFG",
    "transit_countries": ["TJK"],
    "destination_country": "KAZ",
    "seizing_unit": "Dostuk BCP",
}


@pytest.fixture(scope="module")
def viewer(db_url: str) -> dict[str, str]:
    return auth_headers(db_url, role="viewer", agency="KGZ-BS")


@pytest.fixture(scope="module")
def other(db_url: str) -> dict[str, str]:
    return auth_headers(db_url, role="analyst", agency="TJK-BS")


def test_put_is_idempotent_and_changes_keep_history(client: TestClient, db_url: str) -> None:
    r = client.put("/api/v1/cases", json=CASE)
    assert r.status_code == 201, r.text
    case = r.json()["case"]
    assert case["quantity_kg"] == pytest.approx(1.25) and case["quantity_count"] is None
    assert case["transit_countries"] == ["TJK"]
    again = client.put("/api/v1/cases", json=CASE)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    changed = client.put("/api/v1/cases", json={**CASE, "quantity": 2, "unit": "kg"})
    assert changed.json()["outcome"] == "updated"
    assert changed.json()["case"]["id"] == case["id"]
    hist = client.get(f"/api/v1/cases/{case['id']}/history").json()["history"]
    assert [h["action"] for h in hist] == ["create", "update"]
    assert hist[1]["before"]["quantity_kg"] == pytest.approx(1.25)
    assert hist[1]["after"]["quantity_kg"] == pytest.approx(2.0)
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE case_history SET why = 'x'")


def test_counts_soft_delete_and_visibility(
    client: TestClient, viewer: dict[str, str], other: dict[str, str]
) -> None:
    plants = {**CASE, "external_id": "P-1", "substance": "cannabis_plants"}
    plants.update(quantity=340, unit="plants")
    r = client.put("/api/v1/cases", json=plants)
    assert r.status_code == 201, r.text
    cid = r.json()["case"]["id"]
    assert r.json()["case"]["quantity_count"] == 340 and r.json()["case"]["quantity_kg"] is None
    assert client.put("/api/v1/cases", json=plants, headers=viewer).status_code == 403
    assert client.get(f"/api/v1/cases/{cid}", headers=other).status_code == 404
    d = client.post(f"/api/v1/cases/{cid}/delete", json={"why": "duplicate"}, headers=other)
    assert d.status_code == 404
    d = client.post(f"/api/v1/cases/{cid}/delete", json={"why": "duplicate"})
    assert d.status_code == 200 and d.json()["deleted_why"] == "duplicate"
    assert d.json()["deleted_by"]
    ids = [c["id"] for c in client.get("/api/v1/cases").json()["cases"]]
    assert cid not in ids
    ids = [c["id"] for c in client.get("/api/v1/cases", params={"deleted": True}).json()["cases"]]
    assert cid in ids
    assert client.post(f"/api/v1/cases/{cid}/delete", json={"why": "x"}).status_code == 404
    actions = [h["action"] for h in client.get(f"/api/v1/cases/{cid}/history").json()["history"]]
    assert actions == ["create", "delete"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"substance": "kryptonite"}, "accepted: amphetamine"),
        ({"unit": "pounds"}, "unknown unit"),
        ({"quantity": -1}, "negative"),
        ({"quantity": "NaN"}, "finite"),
        ({"unit": "plants"}, "measured as a mass"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "future"),
        ({"occurred_at": "1985-01-01T00:00:00Z"}, "before 1990"),
        ({"occurred_at": "2026-11-20T08:30:00"}, "UTC offset"),
        ({"occurred_at": "2026-11-20T08:30:00-20:27"}, "beyond"),
        ({"category": "parking"}, "unknown category"),
        ({"origin_country": "Afghanistan"}, "alpha-3"),
        ({"lat": 140.0}, "not longitude/latitude"),
    ],
)
def test_bad_input_is_a_clear_422(client: TestClient, change: dict, message: str) -> None:
    r = client.put("/api/v1/cases", json={**CASE, "external_id": "BAD", **change})
    assert r.status_code == 422, r.text
    assert message in r.text


def test_vocabularies_come_from_reference_tables(client: TestClient) -> None:
    v = client.get("/api/v1/cases/vocabularies").json()
    assert "cannabis_resin" in v["substances"] and v["substances"]["ecstasy"] == "count"
    assert v["units"]["t"] == 1000.0 and v["units"]["tablets"] is None
