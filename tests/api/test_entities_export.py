"""A network exported for other tools, read back by independent readers: GraphML through
networkx, the i2 Analyst's Notebook import CSV through the csv module (columns, identities,
dates), Cytoscape.js elements (every edge's ends are nodes)."""

from __future__ import annotations

import csv
import io
import uuid

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from geomon.exchange.network import I2_COLUMNS
from tests.api.test_entities_api import Agency


@pytest.fixture
def a(db_url: str, client: TestClient) -> Agency:
    return Agency(db_url, client)


def _chart(a: Agency) -> tuple[int, int, int, int]:
    person = a.entity(kind="person", name="Фарход Н.", identity="DMP-P-77")
    car = a.entity(kind="vehicle", plate="01 KG 555 XYZ")
    phone = a.entity(kind="phone", msisdn="+996 700 111 222")
    case = a.case(f"X-{uuid.uuid4().hex[:6]}")
    a.link(entity_id=person, kind="drives", to_kind="entity", to_id=car, confidence=0.75)
    a.link(entity_id=person, kind="uses", to_kind="entity", to_id=phone)
    a.link(
        entity_id=car,
        kind="seized_in",
        to_kind="case",
        to_id=case,
        valid_from="2025-10-02T08:30:00+05:00",
    )
    return person, car, phone, case


def test_graphml_reads_back_in_networkx(a: Agency) -> None:
    person, car, phone, case = _chart(a)
    r = a.client.get(
        f"/api/v1/entities/{person}/network",
        params={"depth": 2, "format": "graphml"},
        headers=a.analyst,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/graphml+xml")
    assert "attachment" in r.headers["content-disposition"]
    g = nx.read_graphml(io.BytesIO(r.content))
    assert g.is_directed()
    assert set(g.nodes) == {f"entity-{person}", f"entity-{car}", f"entity-{phone}", f"case-{case}"}
    assert g.nodes[f"entity-{person}"]["label"] == "Фарход Н."
    assert g.nodes[f"entity-{person}"]["identity"] == "DMP-P-77"
    assert g.nodes[f"entity-{car}"]["plate"] == "01KG555XYZ"
    assert g.nodes[f"case-{case}"]["type"] == "case"
    assert g.nodes[f"case-{case}"]["at"] == "2025-10-02T03:30:00Z"
    drives = g.edges[f"entity-{person}", f"entity-{car}"]
    assert drives["kind"] == "drives" and drives["confidence"] == 0.75
    assert g.edges[f"entity-{car}", f"case-{case}"]["valid_from"] == "2025-10-02T03:30:00Z"
    assert nx.shortest_path_length(g.to_undirected(), f"entity-{phone}", f"case-{case}") == 3


def test_i2_csv_has_the_columns_of_the_import_spec(a: Agency) -> None:
    person, car, phone, case = _chart(a)
    lonely = a.entity(kind="organisation", name="ООО Транзит")
    r = a.client.get(
        "/api/v1/network",
        params={"entity": [person, lonely], "depth": 2, "format": "i2"},
        headers=a.analyst,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == I2_COLUMNS
    body = [dict(zip(I2_COLUMNS, row, strict=True)) for row in rows[1:]]
    links = {(x["Entity1 Identity"], x["Link Type"], x["Entity2 Identity"]): x for x in body}
    assert set(links) == {
        (f"entity-{person}", "drives", f"entity-{car}"),
        (f"entity-{person}", "uses", f"entity-{phone}"),
        (f"entity-{car}", "seized_in", f"case-{case}"),
        (f"entity-{lonely}", "", ""),
    }
    seized = links[(f"entity-{car}", "seized_in", f"case-{case}")]
    assert seized["Entity1 Type"] == "Vehicle" and seized["Entity1 Key"] == "01KG555XYZ"
    assert seized["Entity2 Type"] == "Seizure" and seized["Entity2 Date"] == "2025-10-02 03:30:00"
    assert seized["Link Date From"] == "2025-10-02 03:30:00"
    uses = links[(f"entity-{person}", "uses", f"entity-{phone}")]
    assert uses["Entity2 Type"] == "Telephone" and uses["Entity2 Key"] == "+996700111222"
    assert uses["Entity1 Label"] == "Фарход Н." and uses["Entity1 Key"] == "DMP-P-77"
    assert links[(f"entity-{person}", "drives", f"entity-{car}")]["Link Confidence"] == "0.75"
    assert links[(f"entity-{lonely}", "", "")]["Entity1 Type"] == "Organisation"


def test_cytoscape_elements_are_consistent(a: Agency) -> None:
    person, car, phone, case = _chart(a)
    doc = a.get(f"/api/v1/entities/{car}/network", depth=1, format="cytoscape")
    nodes = {n["data"]["id"]: n["data"] for n in doc["elements"]["nodes"]}
    assert set(nodes) == {f"entity-{person}", f"entity-{car}", f"case-{case}"}
    assert nodes[f"entity-{car}"]["seed"] and not nodes[f"entity-{person}"]["seed"]
    assert nodes[f"case-{case}"]["at"] == "2025-10-02T03:30:00Z"
    for e in doc["elements"]["edges"]:
        assert e["data"]["source"] in nodes and e["data"]["target"] in nodes
    assert {e["data"]["kind"] for e in doc["elements"]["edges"]} == {"drives", "seized_in"}
