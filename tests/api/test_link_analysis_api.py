"""Link analysis over /api/v1: the shortest chain between two nodes (and none through rows
the caller may not see), repeat offenders by period, bad parameters as 4xx."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.test_entities_api import Agency, _share


@pytest.fixture
def a(db_url: str, client: TestClient) -> Agency:
    return Agency(db_url, client)


@pytest.fixture
def b(db_url: str, client: TestClient) -> Agency:
    return Agency(db_url, client)


def _case(a: Agency, at: str) -> int:
    r = a.client.put(
        "/api/v1/cases",
        json={
            "external_id": f"R-{uuid.uuid4().hex[:8]}",
            "source": "la-test",
            "category": "drug_seizure",
            "occurred_at": at,
            "lon": 69.0,
            "lat": 38.0,
        },
        headers=a.analyst,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["case"]["id"])


def test_shortest_chain_through_a_case(a: Agency) -> None:
    boss = a.entity(kind="person", name="Boss")
    car = a.entity(kind="vehicle", plate="KG 100 AAA")
    mate = a.entity(kind="person", name="Mate")
    phone = a.entity(kind="phone", msisdn="+992 900 000 001")
    case = _case(a, "2025-06-01T10:00:00Z")
    a.link(entity_id=boss, kind="drives", to_kind="entity", to_id=car)
    a.link(entity_id=car, kind="seized_in", to_kind="case", to_id=case)
    a.link(entity_id=mate, kind="involved_in", to_kind="case", to_id=case)
    a.link(entity_id=mate, kind="uses", to_kind="entity", to_id=phone)
    a.link(
        entity_id=boss,
        kind="associate",
        to_kind="entity",
        to_id=a.entity(kind="person", name="Noise"),
    )
    doc = a.get(f"/api/v1/entities/{boss}/path", to=phone)
    assert doc["found"] and doc["length"] == 4
    assert [n["key"] for n in doc["nodes"]] == [
        f"entity:{boss}",
        f"entity:{car}",
        f"case:{case}",
        f"entity:{mate}",
        f"entity:{phone}",
    ]
    assert [x["kind"] for x in doc["links"]] == ["drives", "seized_in", "involved_in", "uses"]
    to_case = a.get(f"/api/v1/entities/{boss}/path", to=case, to_kind="case")
    assert to_case["length"] == 2
    short = a.get(f"/api/v1/entities/{boss}/path", to=phone, max_depth=3)
    assert short == {"found": False, "length": 0, "nodes": [], "links": []}
    graphml = a.client.get(
        f"/api/v1/entities/{boss}/path",
        params={"to": phone, "format": "graphml"},
        headers=a.analyst,
    )
    assert graphml.status_code == 200 and graphml.text.count("<edge ") == 4


def test_no_chain_through_hidden_rows(a: Agency, b: Agency, db_url: str) -> None:
    car = a.entity(kind="vehicle", plate="KG 200 BBB")
    mate = a.entity(kind="person", name="Mate A")
    case = _case(a, "2025-06-01T10:00:00Z")
    a.link(entity_id=car, kind="seized_in", to_kind="case", to_id=case)
    a.link(entity_id=mate, kind="involved_in", to_kind="case", to_id=case)
    mine = b.entity(kind="person", name="Driver B")
    b.get(f"/api/v1/entities/{mine}/path", 404, to=mate)  # A's person: not visible yet
    _share(db_url, a, b, "entities")
    b.link(entity_id=mine, kind="drives", to_kind="entity", to_id=car)
    assert b.get(f"/api/v1/entities/{mine}/path", to=car)["length"] == 1
    assert not b.get(f"/api/v1/entities/{mine}/path", to=mate)["found"]  # the case is hidden
    a.get(f"/api/v1/entities/{mate}/path", 404, to=mine)  # B shares nothing with A


def test_repeat_offenders_by_period(a: Agency, db_url: str) -> None:
    courier = a.entity(kind="person", name="Courier")
    once = a.entity(kind="person", name="Once")
    car = a.entity(kind="vehicle", plate="KG 300 CCC")
    cases = [
        _case(a, t)
        for t in ("2025-03-01T00:00:00Z", "2025-09-01T00:00:00Z", "2026-02-01T00:00:00Z")
    ]
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO incidents (agency_id, category, occurred_at, geom) VALUES "
            "(%s, 'seizure', '2025-05-05T00:00:00Z', ST_SetSRID(ST_MakePoint(69, 38), 4326)) "
            "RETURNING id",
            (a.id,),
        ).fetchone()
    assert row is not None
    incident = int(row[0])
    for c in cases:
        a.link(entity_id=courier, kind="involved_in", to_kind="case", to_id=c)
    a.link(entity_id=courier, kind="involved_in", to_kind="incident", to_id=incident)
    a.link(entity_id=car, kind="seized_in", to_kind="case", to_id=cases[0])
    a.link(entity_id=car, kind="seized_in", to_kind="case", to_id=cases[1])
    a.link(entity_id=once, kind="involved_in", to_kind="case", to_id=cases[2])
    everyone = a.get("/api/v1/entities/repeat-offenders", at_least=2)["entities"]
    mine = [(e["id"], e["linked"]) for e in everyone if e["agency"] == a.code]
    assert mine == [(courier, 4), (car, 2)]
    in_2025 = a.get(
        "/api/v1/entities/repeat-offenders",
        at_least=3,
        since="2025-01-01T00:00:00Z",
        until="2026-01-01T00:00:00Z",
    )["entities"]
    top = [e for e in in_2025 if e["agency"] == a.code]
    assert [(e["id"], e["linked"]) for e in top] == [(courier, 3)]
    assert sorted(top[0]["case_ids"]) == sorted(cases[:2]) and top[0]["incident_ids"] == [incident]
    assert top[0]["first_at"].startswith("2025-03-01") and top[0]["last_at"].startswith(
        "2025-09-01"
    )
    persons = a.get("/api/v1/entities/repeat-offenders", kind="vehicle")["entities"]
    assert courier not in [e["id"] for e in persons]


def test_bad_parameters(a: Agency) -> None:
    p = a.entity(kind="person", name="P")
    a.get(f"/api/v1/entities/{p}/path", 422)  # no 'to'
    a.get(f"/api/v1/entities/{p}/path", 422, to=1, max_depth=0)
    a.get(f"/api/v1/entities/{p}/path", 404, to=2**62)
    a.get("/api/v1/entities/repeat-offenders", 422, at_least=1)
    r = a.get(
        "/api/v1/entities/repeat-offenders",
        422,
        since="2026-01-01T00:00:00Z",
        until="2025-01-01T00:00:00Z",
    )
    assert "since" in r["detail"]
    assert "RFC 3339" in str(a.get("/api/v1/entities/repeat-offenders", 422, since="1e9"))


def _reads(db_url: str, agency: str, reads: list[tuple[str, str, str, int]]) -> None:
    """Plate reads (sensor uid, place, plate, seconds after 2026-03-01T08:00Z) as the owner."""
    from geomon.store.devices import add_device, bind_device

    with psycopg.connect(db_url) as conn:
        for uid, place in {(r[0], r[1]) for r in reads}:
            add_device(conn, uid=uid, kind="sensor", agency=agency)
            bind_device(conn, uid, place=place)
        for uid, _, plate, s in reads:
            conn.execute(
                "INSERT INTO observations (sensor_id, observed_at, kind, text, plate_norm) "
                "SELECT id, '2026-03-01T08:00:00Z'::timestamptz + make_interval(secs => %s), "
                "'plate_read', %s, %s FROM devices WHERE uid = %s",
                (s, plate, plate, uid),
            )


def test_vehicles_read_together(a: Agency, b: Agency, db_url: str) -> None:
    tag = uuid.uuid4().hex[:5].upper()
    khorgos, kordai = "Khorgos - Nur Zholy road BCP", "Kordai / Ak-Jol road BCP"
    lane1, lane2, west, theirs = (f"{tag}-{n}" for n in ("L1", "L2", "KRD", "B"))
    t, x, y, z, w = (f"{tag}{c}" for c in "TXYZW")
    day = 86400
    _reads(
        db_url,
        a.code,
        [
            (lane1, khorgos, t, 0),
            (lane1, khorgos, t, day),
            (west, kordai, t, 2 * day),
            (lane2, khorgos, x, 60),
            (lane1, khorgos, x, day + 120),
            (lane1, khorgos, y, 1000),
            (west, kordai, z, 2 * day + 10),
        ],
    )
    _reads(db_url, b.code, [(theirs, khorgos, w, 5)])  # another agency's camera at the post
    car = a.entity(kind="vehicle", plate=t)
    mate = a.entity(kind="vehicle", plate=x, label="the escort")
    params = {"since": "2026-02-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"}
    doc = a.get(f"/api/v1/entities/{car}/co-occurrences", **params)
    from api.routes.link_analysis import CoOccurrences
    from tests.api.test_response_models import _strict

    _strict(CoOccurrences, doc)
    got = {v["plate"]: v for v in doc["vehicles"]}
    assert list(got) == [x, z]
    assert got[x]["times"] == 2 and got[x]["posts"] == [khorgos]
    assert got[x]["entity_id"] == mate and got[x]["entity_label"] == "the escort"
    assert got[z]["times"] == 1 and got[z]["posts"] == [kordai] and got[z]["entity_id"] is None
    wide = a.get(f"/api/v1/entities/{car}/co-occurrences", window_s=1200, **params)
    assert {v["plate"] for v in wide["vehicles"]} == {x, y, z}
    twice = a.get(f"/api/v1/entities/{car}/co-occurrences", at_least=2, **params)
    assert [v["plate"] for v in twice["vehicles"]] == [x]
    person = a.entity(kind="person", name="Walker")
    assert "not a vehicle" in a.get(f"/api/v1/entities/{person}/co-occurrences", 422)["detail"]
    a.get(f"/api/v1/entities/{car}/co-occurrences", 422, window_s=0)
    a.get(
        f"/api/v1/entities/{car}/co-occurrences",
        422,
        since="2020-01-01T00:00:00Z",
        until="2026-01-01T00:00:00Z",
    )


def test_a_vehicle_is_linked_to_its_plate_reads(a: Agency, b: Agency, db_url: str) -> None:
    tag = uuid.uuid4().hex[:5].upper()
    plate = f"{tag}P"
    khorgos = "Khorgos - Nur Zholy road BCP"
    _reads(db_url, a.code, [(f"{tag}-A1", khorgos, plate, s) for s in (0, 3600, 86400)])
    _reads(db_url, b.code, [(f"{tag}-B1", khorgos, plate, 7200)])  # not A's to see
    car = a.entity(kind="vehicle", plate=plate)
    window = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-05T00:00:00Z"}
    assert a.post(f"/api/v1/entities/{car}/link-reads", {**window, "limit": 2}, 200) == {
        "created": 2
    }
    assert a.post(f"/api/v1/entities/{car}/link-reads", window, 200) == {"created": 1}
    assert a.post(f"/api/v1/entities/{car}/link-reads", window, 200) == {"created": 0}
    net = a.get(f"/api/v1/entities/{car}/network", depth=1)
    reads = [n for n in net["nodes"] if n["type"] == "observation"]
    assert len(reads) == 3 and all(n["label"] == f"plate_read {plate}" for n in reads)
    assert {x["kind"] for x in net["links"]} == {"seen_in"}
    assert {x["source"] for x in net["links"]} == {"plate match"}
    person = a.entity(kind="person", name="Not a car")
    r = a.post(f"/api/v1/entities/{person}/link-reads", window, 422)
    assert "not a vehicle" in r["detail"]
    a.post(f"/api/v1/entities/{car}/link-reads", {**window, "until": window["since"]}, 422)
    a.post(f"/api/v1/entities/{car}/link-reads", {"since": "x", "until": "y"}, 422)
    r = a.client.post(f"/api/v1/entities/{car}/link-reads", json=window, headers=a.viewer)
    assert r.status_code == 403
