"""The event desk on a real PostGIS: assign, note, resolve with a note, the history (who did
what, when), the new list filters (severity, agency, assignee, time), and row-level security
on the history (another agency sees neither the event nor its history; history is
append-only even for the owner)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from tests.api.test_events_api import T, _insert
from tests.helpers.auth import make_user


@pytest.fixture(scope="module")
def desk(db_url: str) -> Iterator[tuple[TestClient, dict[str, int], dict[str, dict], dict]]:
    a, b = "DA" + uuid.uuid4().hex[:4], "DB" + uuid.uuid4().hex[:4]
    ids = {
        "a_crit": _insert(db_url, a, "border_cross", "critical"),
        "a_warn": _insert(db_url, a, "zone_exit", "warning"),
        "b_crit": _insert(db_url, b, "border_cross", "critical"),
    }
    users = {role: make_user(db_url, role=role, agency=a) for role in ("viewer", "analyst")}
    users["other"] = make_user(db_url, role="analyst", agency=b)
    heads = {k: {"Authorization": f"Bearer {u[2]}"} for k, u in users.items()}
    app = create_app(Settings(db=DbSettings(url=db_url)))
    with TestClient(app) as client:
        yield client, ids, heads, {"a": a, "b": b, **{k: u[0] for k, u in users.items()}}


def test_filters_by_severity_agency_and_time(desk) -> None:  # type: ignore[no-untyped-def]
    client, ids, heads, names = desk
    window = {"since": (T - timedelta(minutes=1)).isoformat(), "until": T.isoformat()}
    r = client.get("/api/v1/events", headers=heads["analyst"], params=window)
    assert r.status_code == 200 and r.json()["features"] == []  # until is exclusive
    window["until"] = (T + timedelta(minutes=1)).isoformat()
    got = client.get(
        "/api/v1/events", headers=heads["analyst"], params={**window, "severity": "warning"}
    ).json()["features"]
    assert [f["id"] for f in got] == [ids["a_warn"]]
    got = client.get(
        "/api/v1/events",
        headers=heads["analyst"],
        params={**window, "agency": [names["a"], names["b"]], "severity": ["critical"]},
    ).json()["features"]
    assert [f["id"] for f in got] == [ids["a_crit"]]  # b's event stays invisible (RLS)
    assert got[0]["properties"]["agency"] == names["a"]
    r = client.get("/api/v1/events", headers=heads["analyst"], params={"severity": "loud"})
    assert r.status_code == 422


def test_assign_note_resolve_and_history(desk) -> None:  # type: ignore[no-untyped-def]
    client, ids, heads, names = desk
    url = f"/api/v1/events/{ids['a_crit']}"
    users = client.get(url + "/assignees", headers=heads["viewer"]).json()["users"]
    assert {names["viewer"], names["analyst"]} <= {u["name"] for u in users}
    assert names["other"] not in {u["name"] for u in users}
    body = {"assignee": names["analyst"], "note": "take it"}
    assert client.post(url + "/assign", headers=heads["viewer"], json=body).status_code == 403
    r = client.post(url + "/assign", headers=heads["analyst"], json={"assignee": names["other"]})
    assert r.status_code == 422 and "no active user" in r.text
    r = client.post(url + "/assign", headers=heads["analyst"], json=body)
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["assigned_to"] == names["analyst"]
    assert r.json()["properties"]["assigned_at"] is not None
    mine = client.get(
        "/api/v1/events", headers=heads["viewer"], params={"assigned_to": names["analyst"]}
    ).json()["features"]
    assert [f["id"] for f in mine] == [ids["a_crit"]]
    r = client.post(url + "/acknowledge", headers=heads["analyst"], json={"note": "seen"})
    assert r.status_code == 200
    r = client.post(url + "/notes", headers=heads["analyst"], json={"note": "patrol 3 sent"})
    assert r.status_code == 200
    r = client.post(url + "/resolve", headers=heads["analyst"], json={"note": "false alarm"})
    props = r.json()["properties"]
    assert (props["state"], props["resolution_note"]) == ("resolved", "false alarm")
    r = client.post(url + "/assign", headers=heads["analyst"], json={"assignee": None})
    assert r.status_code == 409 and "resolved" in r.text

    hist = client.get(url + "/history", headers=heads["viewer"]).json()["entries"]
    assert [h["action"] for h in hist] == ["raised", "assign", "acknowledge", "note", "resolve"]
    assert hist[1]["detail"] == {"assigned_to": names["analyst"], "previous": None}
    assert [h["note"] for h in hist[1:]] == ["take it", "seen", "patrol 3 sent", "false alarm"]
    assert {h["by"] for h in hist[1:]} == {names["analyst"]}
    assert all(h["at"].endswith("+00:00") for h in hist)  # the API stays in UTC

    other = f"/api/v1/events/{ids['a_crit']}/history"
    assert client.get(other, headers=heads["other"]).status_code == 404
    assert (
        client.get("/api/v1/events/99999999999/history", headers=heads["viewer"]).status_code == 404
    )
    r = client.post(f"/api/v1/events/{ids['b_crit']}/assign", headers=heads["analyst"], json=body)
    assert r.status_code == 404


def test_history_of_a_system_resolution_and_append_only(desk, db_url: str) -> None:  # type: ignore[no-untyped-def]
    client, ids, heads, _ = desk
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE events SET state = 'resolved', resolved_by = 'geomon', resolved_at = now() "
            "WHERE id = %s",
            (ids["a_warn"],),
        )
    hist = client.get(f"/api/v1/events/{ids['a_warn']}/history", headers=heads["viewer"]).json()
    assert [(h["action"], h["by"]) for h in hist["entries"]] == [
        ("raised", "geomon"),
        ("resolve", "geomon"),
    ]
    with psycopg.connect(db_url) as conn:  # the owner: no DELETE policy, and a trigger
        cur = conn.execute("DELETE FROM event_history WHERE event_id = %s", (ids["a_crit"],))
        assert cur.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE event_history")
