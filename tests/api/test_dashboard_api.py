"""The dashboard's counts on a real PostGIS: events per hour by kind and incidents per week by
category, bucketed in the caller's time zone (Bishkek, UTC+6: a week starts on Monday 00:00
there, which is Sunday 18:00 UTC), only what the caller's agency may see; bad zones are 422."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.store.devices import add_device
from tests.helpers.auth import make_user


def _event(
    conn: psycopg.Connection, device_id: int, agency_id: int, kind: str, at: datetime
) -> None:
    conn.execute(
        "INSERT INTO events (agency_id, device_id, kind, severity, occurred_at) "
        "VALUES (%s, %s, %s, 'warning', %s)",
        (agency_id, device_id, kind, at),
    )


def _incident(conn: psycopg.Connection, agency_id: int, category: str, at: datetime) -> None:
    conn.execute(
        "INSERT INTO incidents (agency_id, category, occurred_at, geom) "
        "VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(69, 38), 4326))",
        (agency_id, category, at),
    )


@pytest.fixture(scope="module")
def dash(db_url: str) -> Iterator[tuple[TestClient, dict[str, str], dict[str, datetime]]]:
    a, b = "HA" + uuid.uuid4().hex[:4], "HB" + uuid.uuid4().hex[:4]
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    if now.minute < 5:  # events a few minutes into the hour must not be in the future
        hour -= timedelta(hours=1)
    # a Monday 00:30 in Bishkek = Sunday 18:30 UTC, three weeks back
    monday = (now - timedelta(days=now.weekday() + 21)).replace(
        hour=0, minute=30, second=0, microsecond=0
    ) - timedelta(hours=6)
    with psycopg.connect(db_url) as conn:
        da = add_device(conn, uid=uuid.uuid4().hex[:12], kind="tracker", agency=a)
        db = add_device(conn, uid=uuid.uuid4().hex[:12], kind="tracker", agency=b)
        for minutes in (1, 2, 3):
            _event(conn, da.id, da.agency_id, "border_cross", hour + timedelta(minutes=minutes))
        _event(
            conn, da.id, da.agency_id, "silent", hour - timedelta(hours=2) + timedelta(minutes=5)
        )
        _event(conn, da.id, da.agency_id, "silent", hour - timedelta(hours=30))  # before 24 h
        _event(
            conn, db.id, db.agency_id, "border_cross", hour + timedelta(minutes=4)
        )  # other agency
        _incident(conn, da.agency_id, "seizure", monday)
        _incident(conn, da.agency_id, "seizure", monday + timedelta(days=6, hours=23))  # same week
        _incident(conn, da.agency_id, "detention", monday - timedelta(hours=1))  # the week before
        _incident(conn, db.agency_id, "seizure", monday)
    head = {"Authorization": f"Bearer {make_user(db_url, role='viewer', agency=a)[2]}"}
    app = create_app(Settings(db=DbSettings(url=db_url)))
    with TestClient(app) as client:
        yield client, head, {"hour": hour, "monday": monday}


def test_events_per_hour_by_kind(dash) -> None:  # type: ignore[no-untyped-def]
    client, head, t = dash
    r = client.get("/api/v1/dashboard", headers=head, params={"time_zone": "Asia/Bishkek"})
    assert r.status_code == 200, r.text
    rows = r.json()["events_per_hour"]["rows"]
    got = {(datetime.fromisoformat(x["at"]), x["kind"]): x["count"] for x in rows}
    assert got == {
        (t["hour"], "border_cross"): 3,
        (t["hour"] - timedelta(hours=2), "silent"): 1,
    }
    since = datetime.fromisoformat(r.json()["events_per_hour"]["since"])
    assert since.minute == 0 and timedelta(hours=22) <= t["hour"] - since <= timedelta(hours=23)


def test_incidents_per_week_in_the_callers_zone(dash) -> None:  # type: ignore[no-untyped-def]
    client, head, t = dash
    week = t["monday"] - timedelta(minutes=30)  # Monday 00:00 Bishkek in UTC
    r = client.get("/api/v1/dashboard", headers=head, params={"time_zone": "Asia/Bishkek"})
    rows = r.json()["incidents_per_week"]["rows"]
    got = {(datetime.fromisoformat(x["at"]), x["category"]): x["count"] for x in rows}
    assert got == {(week, "seizure"): 2, (week - timedelta(days=7), "detention"): 1}
    # in UTC the Monday 00:30 Bishkek incident falls in the week before (a Sunday)
    r = client.get("/api/v1/dashboard", headers=head, params={"time_zone": "UTC"})
    utc = {
        (datetime.fromisoformat(x["at"]), x["category"]): x["count"]
        for x in r.json()["incidents_per_week"]["rows"]
    }
    assert utc[(week - timedelta(days=7) + timedelta(hours=6), "seizure")] == 1
    r = client.get(
        "/api/v1/dashboard",
        headers=head,
        params={"time_zone": "Asia/Bishkek", "category": "detention"},
    )
    assert [x["category"] for x in r.json()["incidents_per_week"]["rows"]] == ["detention"]
    cats = {c["category"]: c["count"] for c in r.json()["incident_categories"]}
    assert cats == {"seizure": 2, "detention": 1}


def test_bad_parameters(dash) -> None:  # type: ignore[no-untyped-def]
    client, head, _ = dash
    assert (
        client.get(
            "/api/v1/dashboard", params={"time_zone": "Mars/Olympus"}, headers=head
        ).status_code
        == 422
    )
    assert client.get("/api/v1/dashboard", params={"hours": 0}, headers=head).status_code == 422
    assert client.get("/api/v1/dashboard").status_code == 401
