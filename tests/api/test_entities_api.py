"""Entities and links (migration 0032) through /api/v1 on the seeded PostGIS: creation with
normalised keys, search by name/plate/phone, soft delete, links to cases and incidents, and
row-level security between two fresh agencies (a hidden row is a 404 like a missing one)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.seed import auth_headers

CASE = {
    "source": "ent-test",
    "category": "drug_seizure",
    "substance": "heroin",
    "quantity": 4,
    "unit": "kg",
    "occurred_at": "2025-10-02T08:30:00+05:00",
    "lon": 69.3,
    "lat": 37.2,
}


class Agency:
    """A fresh agency with an analyst and a viewer."""

    def __init__(self, db_url: str, client: TestClient) -> None:
        self.code = f"ENT-{uuid.uuid4().hex[:6]}".upper()
        self.analyst = auth_headers(db_url, role="analyst", agency=self.code)
        self.viewer = auth_headers(db_url, role="viewer", agency=self.code)
        self.client = client
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT id FROM agencies WHERE code = %s", (self.code,)).fetchone()
            assert row is not None
            self.id = int(row[0])

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        r = self.client.post(path, json=body, headers=self.analyst)
        assert r.status_code == status, r.text
        return dict(r.json())

    def get(self, path: str, status: int = 200, **params: Any) -> Any:
        r = self.client.get(path, params=params, headers=self.analyst)
        assert r.status_code == status, r.text
        return r.json()

    def entity(self, **body: Any) -> int:
        return int(self.post("/api/v1/entities", body)["id"])

    def link(self, status: int = 201, **body: Any) -> dict[str, Any]:
        return self.post("/api/v1/links", {"kind": "associate", **body}, status)

    def case(self, external_id: str) -> int:
        r = self.client.put(
            "/api/v1/cases", json={**CASE, "external_id": external_id}, headers=self.analyst
        )
        assert r.status_code == 201, r.text
        return int(r.json()["case"]["id"])


@pytest.fixture
def a(db_url: str, client: TestClient) -> Agency:
    return Agency(db_url, client)


@pytest.fixture
def b(db_url: str, client: TestClient) -> Agency:
    return Agency(db_url, client)


def _share(db_url: str, src: Agency, dst: Agency, scope: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO agency_shares (from_agency_id, to_agency_id, scope) VALUES (%s, %s, %s)",
            (src.id, dst.id, scope),
        )


def test_keys_are_normalised_and_searchable(a: Agency) -> None:
    car = a.post("/api/v1/entities", {"kind": "vehicle", "plate": "01 КG-123 АВС"})
    assert car["plate"] == "01KG123ABC" and car["identity"] == "01KG123ABC"
    assert car["plate_raw"] == "01 КG-123 АВС" and car["label"] == "01 КG-123 АВС"
    phone = a.post("/api/v1/entities", {"kind": "phone", "msisdn": "00996 (555) 12-34-56"})
    assert phone["msisdn"] == "+996555123456" and phone["identity"] == "+996555123456"
    imei = a.post("/api/v1/entities", {"kind": "phone", "imei": "49-015420-323751-8"})
    assert imei["imei"] == "490154203237518"
    person = a.entity(kind="person", name="Akmal Rakhimov", born_on="1984-03-02")
    hits = a.get("/api/v1/entities", plate="01kg123abc")["entities"]
    assert [e["id"] for e in hits] == [car["id"]]
    assert [e["id"] for e in a.get("/api/v1/entities", phone="555123456")["entities"]] == [
        phone["id"]
    ]
    assert [e["id"] for e in a.get("/api/v1/entities", q="rakhim")["entities"]] == [person]
    assert [e["id"] for e in a.get("/api/v1/entities", q="%")["entities"]] == []
    again = a.post("/api/v1/entities", {"kind": "vehicle", "plate": "01KG123ABC"}, 409)
    assert str(car["id"]) in again["detail"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "vehicle"}, "plate or a vin"),
        ({"kind": "vehicle", "plate": "-- --"}, "plate"),
        ({"kind": "vehicle", "vin": "IOQ12345678901234"}, "vin"),
        ({"kind": "phone", "imei": "490154203237519"}, "check digit"),
        ({"kind": "phone", "msisdn": "0555 123456"}, "international"),
        ({"kind": "person"}, "needs a name"),
        ({"kind": "person", "name": "X", "born_on": "2999-01-01"}, "born_on"),
        ({"kind": "person", "name": "X\u0007"}, "control characters"),
        ({"kind": "vehicle", "plate": "01KG1", "identity": "other"}, "identity"),
        ({"kind": "robot", "name": "X"}, "kind"),
    ],
)
def test_bad_entities_are_422_naming_the_field(a: Agency, body: dict[str, Any], words: str) -> None:
    detail = str(a.post("/api/v1/entities", body, 422)["detail"])
    assert words in detail


def test_links_network_and_soft_delete(a: Agency, db_url: str) -> None:
    person = a.entity(kind="person", name="Dilshod K.")
    car = a.entity(kind="vehicle", plate="KG 777 AAA")
    mate = a.entity(kind="person", name="Bahrom S.")
    case = a.case(f"C-{uuid.uuid4().hex[:6]}")
    owns = a.link(entity_id=person, kind="owns", to_kind="entity", to_id=car, confidence=0.9)
    assert owns["to_kind"] == "entity" and owns["entity_label"] == "Dilshod K."
    seized = a.link(
        entity_id=car,
        kind="seized_in",
        to_kind="case",
        to_id=case,
        valid_from="2025-10-02T08:30:00+05:00",
        source="DMP file 12",
    )
    assert (
        seized["valid_from"].startswith("2025-10-02T03:30:00") and seized["source"] == "DMP file 12"
    )
    a.link(entity_id=mate, kind="involved_in", to_kind="case", to_id=case)
    one = a.get(f"/api/v1/entities/{person}/network", depth=1)
    assert {n["key"] for n in one["nodes"]} == {f"entity:{person}", f"entity:{car}"}
    two = a.get(f"/api/v1/entities/{person}/network", depth=3)
    keys = {n["key"] for n in two["nodes"]}
    assert keys == {f"entity:{person}", f"entity:{car}", f"case:{case}", f"entity:{mate}"}
    assert len(two["links"]) == 3 and not two["truncated"]
    capped = a.get(f"/api/v1/entities/{person}/network", depth=3, max_nodes=2)
    assert capped["truncated"] and len(capped["nodes"]) == 2
    by_case = a.get("/api/v1/network", case=case, depth=1)
    assert {n["key"] for n in by_case["nodes"]} == {
        f"case:{case}",
        f"entity:{car}",
        f"entity:{mate}",
    }
    assert {x["id"] for x in a.get("/api/v1/links", entity=car)["links"]} >= {owns["id"]}
    a.post(f"/api/v1/entities/{car}/delete", {"why": "duplicate"}, 200)
    gone = a.get(f"/api/v1/entities/{person}/network", depth=3)
    assert {n["key"] for n in gone["nodes"]} == {f"entity:{person}"}
    assert a.get(f"/api/v1/links/{owns['id']}", 404)
    assert a.get(f"/api/v1/entities/{car}")["deleted_why"] == "duplicate"
    assert car not in [e["id"] for e in a.get("/api/v1/entities", q="777")["entities"]]
    assert a.post(f"/api/v1/links/{seized['id']}/delete", {"why": "x"}, 404)
    with psycopg.connect(db_url) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE route = '/api/v1/entities/{entity_id}/network'"
        ).fetchone()
    assert audited is not None and audited[0] >= 3


def test_viewer_may_read_but_not_write(a: Agency) -> None:
    person = a.entity(kind="person", name="Viewer Test")
    r = a.client.post("/api/v1/entities", json={"kind": "person", "name": "x"}, headers=a.viewer)
    assert r.status_code == 403
    assert a.client.get(f"/api/v1/entities/{person}", headers=a.viewer).status_code == 200


def test_hidden_rows_are_404_like_missing_ones(a: Agency, b: Agency, db_url: str) -> None:
    mine = a.entity(kind="person", name="Owner A")
    car = a.entity(kind="vehicle", plate="TJ 1234 AA")
    case = a.case(f"C-{uuid.uuid4().hex[:6]}")
    a.link(entity_id=car, kind="seized_in", to_kind="case", to_id=case)
    theirs = b.entity(kind="person", name="Person B")
    b.get(f"/api/v1/entities/{mine}", 404)
    assert b.get("/api/v1/entities", q="Owner A")["entities"] == []
    hidden = b.link(entity_id=theirs, to_kind="case", to_id=case, status=404)["detail"]
    missing = b.link(entity_id=theirs, to_kind="case", to_id=2**62, status=404)["detail"]
    assert hidden.replace(str(case), "N") == missing.replace(str(2**62), "N")
    assert b.link(entity_id=theirs, to_kind="entity", to_id=car, status=404)
    assert b.link(entity_id=car, to_kind="entity", to_id=theirs, status=404)
    b.get(f"/api/v1/entities/{mine}/network", 404)
    assert b.post(f"/api/v1/entities/{mine}/delete", {"why": "x"}, 404)

    _share(db_url, a, b, "entities")  # B now reads A's entities, still not A's cases
    assert b.get(f"/api/v1/entities/{car}")["agency"] == a.code
    link = b.link(entity_id=theirs, kind="drives", to_kind="entity", to_id=car)
    assert link["agency"] == b.code
    assert b.link(entity_id=theirs, to_kind="case", to_id=case, status=404)
    net = b.get(f"/api/v1/entities/{theirs}/network", depth=3)
    assert {n["key"] for n in net["nodes"]} == {f"entity:{theirs}", f"entity:{car}"}
    assert b.post(f"/api/v1/entities/{car}/delete", {"why": "x"}, 404)  # not B's to change
    a_net = a.get(f"/api/v1/entities/{car}/network", depth=1)
    assert f"entity:{theirs}" not in {n["key"] for n in a_net["nodes"]}  # not shared to A


def test_bad_parameters_are_4xx(a: Agency) -> None:
    person = a.entity(kind="person", name="Params")
    for params in ({"depth": 0}, {"depth": 9}, {"max_nodes": 1}, {"format": "pdf"}):
        a.get(f"/api/v1/entities/{person}/network", 422, **params)
    assert "plate" in a.get("/api/v1/entities", 422, plate="\u0001")["detail"]
    assert "phone" in a.get("/api/v1/entities", 422, phone="abc")["detail"]
    assert "at least one" in a.get("/api/v1/network", 422)["detail"]
    r = a.link(entity_id=person, to_kind="entity", to_id=person, status=422)
    assert "two different" in r["detail"]
    r = a.link(entity_id=person, to_kind="case", to_id=1, valid_from="1700000000", status=422)
    assert "RFC 3339" in str(r["detail"])
    r = a.link(
        entity_id=person,
        to_kind="entity",
        to_id=a.entity(kind="person", name="Other"),
        valid_from="2026-01-02T00:00:00Z",
        valid_until="2026-01-01T00:00:00Z",
        status=422,
    )
    assert "valid_until" in r["detail"]


def test_bodies_match_their_models(a: Agency) -> None:
    from api.routes.entities import EntityList, EntityOut
    from api.routes.link_analysis import RepeatOffenders
    from api.routes.links import LinkList, LinkOut
    from tests.api.test_response_models import _strict

    person = a.entity(kind="person", name="Model", born_on="1980-01-01")
    case = a.case(f"M-{uuid.uuid4().hex[:6]}")
    other = a.case(f"M-{uuid.uuid4().hex[:6]}")
    link = a.link(entity_id=person, kind="involved_in", to_kind="case", to_id=case, confidence=1)
    a.link(entity_id=person, kind="involved_in", to_kind="case", to_id=other)
    _strict(EntityOut, a.get(f"/api/v1/entities/{person}"))
    _strict(EntityList, a.get("/api/v1/entities", q="Model"))
    _strict(LinkOut, link)
    _strict(LinkList, a.get("/api/v1/links", entity=person))
    offenders = a.get("/api/v1/entities/repeat-offenders")
    assert [e["id"] for e in offenders["entities"]] == [person]
    _strict(RepeatOffenders, offenders)
    doc = a.get("/openapi.json")
    body = doc["paths"]["/api/v1/entities"]["get"]["responses"]["200"]["content"]
    assert body["application/json"]["schema"]["$ref"].endswith("/EntityList")
