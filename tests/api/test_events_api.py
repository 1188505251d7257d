"""Events routes: list/filter under row-level security, acknowledge/resolve by analysts only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.alerts.track import EventDraft
from geomon.settings import DbSettings, Settings
from geomon.store import events as ev
from geomon.store.devices import add_device
from tests.helpers.auth import make_user

T = datetime(2026, 11, 21, 12, tzinfo=UTC)


def _insert(db_url: str, agency: str, kind: str, severity: str) -> int:
    with psycopg.connect(db_url) as conn:
        d = add_device(conn, uid=uuid.uuid4().hex[:12], kind="tracker", agency=agency)

    async def go() -> int:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            ids = await ev.insert_events(
                conn,
                [
                    EventDraft(
                        kind=kind,
                        severity=severity,
                        device_id=d.id,
                        occurred_at=T,
                        lon=69.0,
                        lat=37.1,
                        key=f"api-test:{uuid.uuid4().hex}",
                    )
                ],
                {d.id: d.agency_id},
            )
            await conn.commit()
            return ids[0]

    return asyncio.run(go())


@pytest.fixture(scope="module")
def setup(db_url: str) -> Iterator[tuple[TestClient, dict[str, int], dict[str, dict]]]:
    a, b = "EA" + uuid.uuid4().hex[:4], "EB" + uuid.uuid4().hex[:4]
    ids = {
        "a_crit": _insert(db_url, a, "border_cross", "critical"),
        "a_info": _insert(db_url, a, "zone_enter", "info"),
        "b_crit": _insert(db_url, b, "border_cross", "critical"),
    }
    heads = {
        role: {"Authorization": f"Bearer {make_user(db_url, role=role, agency=a)[2]}"}
        for role in ("viewer", "analyst")
    }
    app = create_app(Settings(db=DbSettings(url=db_url)))
    with TestClient(app) as client:
        yield client, ids, heads


def test_list_filters_and_agency_visibility(setup) -> None:  # type: ignore[no-untyped-def]
    client, ids, heads = setup
    r = client.get(
        "/api/v1/events",
        headers=heads["viewer"],
        params={"since": (T - timedelta(minutes=1)).isoformat()},
    )
    assert r.status_code == 200
    got = {f["id"] for f in r.json()["features"]}
    assert {ids["a_crit"], ids["a_info"]} <= got and ids["b_crit"] not in got
    r = client.get(
        "/api/v1/events",
        headers=heads["viewer"],
        params={"min_severity": "critical", "kind": "border_cross"},
    )
    feats = r.json()["features"]
    assert ids["a_crit"] in {f["id"] for f in feats} and ids["a_info"] not in {
        f["id"] for f in feats
    }
    assert feats[0]["geometry"]["type"] == "Point"
    assert client.get(f"/api/v1/events/{ids['b_crit']}", headers=heads["viewer"]).status_code == 404
    assert client.get("/api/v1/events").status_code == 401


def test_ack_and_resolve_need_an_analyst(setup) -> None:  # type: ignore[no-untyped-def]
    client, ids, heads = setup
    url = f"/api/v1/events/{ids['a_crit']}"
    assert client.post(url + "/acknowledge", headers=heads["viewer"]).status_code == 403
    r = client.post(url + "/acknowledge", headers=heads["analyst"], json={"note": "on it"})
    assert r.status_code == 200 and r.json()["properties"]["state"] == "acknowledged"
    assert client.post(url + "/acknowledge", headers=heads["analyst"]).status_code == 409
    r = client.post(url + "/resolve", headers=heads["analyst"], json={"note": "patrol sent"})
    props = r.json()["properties"]
    assert (props["state"], props["note"]) == ("resolved", "on it\npatrol sent")
    assert props["resolved_by"].startswith("analyst-")
    other = f"/api/v1/events/{ids['b_crit']}/resolve"
    assert client.post(other, headers=heads["analyst"]).status_code == 404
