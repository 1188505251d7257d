"""GET /api/v1/teams: every device of the caller's agency with its status, under RLS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.model import Position
from geomon.settings import DbSettings, Settings
from geomon.store.devices import add_device
from geomon.store.positions import stage_row, write_positions
from tests.helpers.auth import make_user


def _fix(db_url: str, device_id: int, uid: str, age: timedelta, speed_mps: float) -> None:
    now = datetime.now(UTC)
    row = stage_row(device_id, Position(uid, now - age, 44.1, 61.3, speed_mps=speed_mps), now)

    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await write_positions(conn, [row])
            await conn.commit()

    asyncio.run(go())


@pytest.fixture(scope="module")
def teams(db_url: str) -> Iterator[tuple[TestClient, dict[str, str], dict[str, int]]]:
    a, b = "TA" + uuid.uuid4().hex[:4], "TB" + uuid.uuid4().hex[:4]
    ids: dict[str, int] = {}
    with psycopg.connect(db_url) as conn:
        for key, agency in [
            ("moving", a),
            ("stopped", a),
            ("silent", a),
            ("never", a),
            ("other", b),
        ]:
            uid = f"team-{key}-{uuid.uuid4().hex[:6]}"
            ids[key] = add_device(conn, uid=uid, kind="tracker", agency=agency, name=uid).id
    _fix(db_url, ids["moving"], "m", timedelta(seconds=10), 12.0)
    _fix(db_url, ids["stopped"], "s", timedelta(seconds=10), 0.2)
    _fix(db_url, ids["silent"], "q", timedelta(hours=2), 12.0)
    _fix(db_url, ids["other"], "o", timedelta(seconds=10), 5.0)
    head = {"Authorization": f"Bearer {make_user(db_url, role='viewer', agency=a)[2]}"}
    with TestClient(create_app(Settings(db=DbSettings(url=db_url)))) as client:
        yield client, head, ids


def test_every_device_with_its_status(teams) -> None:  # type: ignore[no-untyped-def]
    client, head, ids = teams
    r = client.get("/api/v1/teams", headers=head)
    assert r.status_code == 200
    by_id = {t["device_id"]: t for t in r.json()["teams"]}
    got = {k: by_id[i]["status"] for k, i in ids.items() if i in by_id}
    assert got == {
        "moving": "moving",
        "stopped": "stopped",
        "silent": "silent",
        "never": "never_seen",
    }  # the other agency's device is not visible
    moving = by_id[ids["moving"]]
    assert moving["speed_mps"] == pytest.approx(12.0) and moving["fix_time"].endswith("+00:00")
    assert by_id[ids["never"]]["fix_time"] is None and by_id[ids["never"]]["lat"] is None


def test_filter_and_search(teams) -> None:  # type: ignore[no-untyped-def]
    client, head, ids = teams
    r = client.get("/api/v1/teams", headers=head, params={"status": ["silent", "never_seen"]})
    assert {t["device_id"] for t in r.json()["teams"]} == {ids["silent"], ids["never"]}
    r = client.get("/api/v1/teams", headers=head, params={"q": "TEAM-STOPPED"})
    assert [t["device_id"] for t in r.json()["teams"]] == [ids["stopped"]]
    assert client.get("/api/v1/teams", headers=head, params={"status": "lost"}).status_code == 422
    assert client.get("/api/v1/teams").status_code == 401
