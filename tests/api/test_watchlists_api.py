"""/api/v1/watchlists with real users and tokens through the geomon_app role (row-level
security always applies): add, list, import all-or-nothing, remove, sharing, audit rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.store.audit import audit_rows
from geomon.store.users import share
from geomon.watchlists import deletions
from tests.helpers.auth import make_user

A, B, C = "KGZ-WL", "KAZ-WL", "UZB-WL"


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str, tmp_path_factory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("wl-data")
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url), data_dir=data))
    with TestClient(app) as c:
        yield c


def _h(db_url: str, role: str, agency: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_user(db_url, role=role, agency=agency)[2]}"}


def _last_audit_id(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
        return int(row[0]) if row else 0


def test_add_list_remove_with_audit(client: TestClient, db_url: str) -> None:
    a = _h(db_url, "analyst", A)
    plate = f"{uuid.uuid4().int % 10**6:06d}ABC"
    since = _last_audit_id(db_url)
    r = client.post(
        "/api/v1/watchlists",
        json={"plate": f"kz:{plate[:3]} {plate[3:]}", "reason": "tip", "priority": "medium"},
        headers=a,
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["plate"] == plate and entry["country"] == "KZ" and entry["active"]
    assert entry["agency"] == A and entry["priority"] == "medium" and entry["added_by"]
    r = client.get("/api/v1/watchlists", params={"plate": plate.lower()}, headers=a)
    assert r.status_code == 200 and [e["id"] for e in r.json()["entries"]] == [entry["id"]]
    assert client.get(f"/api/v1/watchlists/{entry['id']}", headers=a).status_code == 200
    r = client.delete(f"/api/v1/watchlists/{entry['id']}", params={"why": "done"}, headers=a)
    assert r.status_code == 204, r.text
    r = client.get("/api/v1/watchlists", params={"plate": plate}, headers=a)
    assert r.json()["entries"] == []
    r = client.get(
        "/api/v1/watchlists", params={"plate": plate, "include_removed": "true"}, headers=a
    )
    gone = r.json()["entries"][0]
    assert gone["removed_why"] == "done" and not gone["active"]
    assert client.delete(f"/api/v1/watchlists/{entry['id']}", headers=a).status_code == 404
    with psycopg.connect(db_url) as conn:
        rows = [x for x in audit_rows(conn, since_id=since) if "watchlists" in x["route"]]
    seen = [(x["method"], x["status"], x["params"].get("entry_ids")) for x in rows]
    ids = f"[{entry['id']}]"  # audit params are stored as text
    assert ("POST", 201, ids) in seen
    assert ("GET", 200, ids) in seen  # the list and the single read
    assert ("DELETE", 204, ids) in seen
    assert sum(1 for m, _, _ in seen if m == "GET") == 4


def test_import_refuses_bad_files_whole(client: TestClient, db_url: str) -> None:
    a = _h(db_url, "analyst", A)
    tag = uuid.uuid4().hex[:6]
    good = f"plate,reason,priority,list\n111{tag}A,x,high,imp{tag}\n222{tag}B,y,low,imp{tag}\n"
    bad = good + f"\n,z,low,imp{tag}\n333{tag}C,w,urgent,imp{tag}\n"
    csv_h = {**a, "Content-Type": "text/csv"}
    r = client.post("/api/v1/watchlists/import", content=bad, headers=csv_h)
    assert r.status_code == 422, r.text
    detail = r.text
    assert "row 5" in detail and "row 6" in detail and "nothing imported" in detail
    listed = client.get("/api/v1/watchlists", params={"list": f"imp{tag}"}, headers=a).json()
    assert listed["entries"] == []  # nothing half-loaded
    r = client.post("/api/v1/watchlists/import", content=good, headers=csv_h)
    assert r.status_code == 201 and r.json()["imported"] == 2
    with psycopg.connect(db_url) as conn:  # the near-miss rows, written by the trigger
        n = conn.execute(
            "SELECT count(*) FROM watchlist_near WHERE entry_id = ANY(%s)", (r.json()["ids"],)
        ).fetchone()
    want = len(deletions(f"111{tag}A".upper())) + len(deletions(f"222{tag}B".upper()))
    assert n is not None and n[0] == want
    r = client.post("/api/v1/watchlists/import", content=b"plate\n\xff\xfe\n", headers=csv_h)
    assert r.status_code == 422 and "UTF-8" in r.text
    r = client.post("/api/v1/watchlists/import", content=good, headers=a)
    assert r.status_code == 422  # no text/csv content type


def test_bad_input_is_422_and_roles_are_enforced(client: TestClient, db_url: str) -> None:
    a, v = _h(db_url, "analyst", A), _h(db_url, "viewer", A)
    for body in ({"plate": ""}, {"plate": "12%34"}, {"plate": "A*"}, {"plate": "X1", "priority": 3},
                 {"plate": "123ABC", "valid_until": "2020-01-01T00:00:00Z"}):  # fmt: skip
        r = client.post("/api/v1/watchlists", json=body, headers=a)
        assert r.status_code == 422, (body, r.text)
    assert client.post("/api/v1/watchlists", json={"plate": "1ABC"}, headers=v).status_code == 403
    r = client.get("/api/v1/watchlists", params={"plate": "\x07"}, headers=a)
    assert r.status_code == 422
    assert client.get("/api/v1/watchlists").status_code == 401


def test_sharing_scope_watchlists(client: TestClient, db_url: str) -> None:
    a, b, c = _h(db_url, "analyst", A), _h(db_url, "analyst", B), _h(db_url, "analyst", C)
    plate = f"{uuid.uuid4().int % 10**6:06d}SHR"
    entry = client.post("/api/v1/watchlists", json={"plate": plate}, headers=a).json()
    with psycopg.connect(db_url) as conn:
        share(conn, from_agency=A, to_agency=B, scope="watchlists")
    seen_b = client.get("/api/v1/watchlists", params={"plate": plate}, headers=b).json()
    seen_c = client.get("/api/v1/watchlists", params={"plate": plate}, headers=c).json()
    assert [e["id"] for e in seen_b["entries"]] == [entry["id"]] and seen_c["entries"] == []
    assert client.get(f"/api/v1/watchlists/{entry['id']}", headers=c).status_code == 404
    # B sees A's entry but may not remove it (no existence leak for C either)
    assert client.delete(f"/api/v1/watchlists/{entry['id']}", headers=b).status_code == 404
    assert client.delete(f"/api/v1/watchlists/{entry['id']}", headers=c).status_code == 404
