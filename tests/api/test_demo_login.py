"""``geomon demo-data --login``: the demo user signs in with the printed password and sees the
teams of every demo agency (shared to its situation centre), and the password changes per run."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geomon.cli import app as cli_app
from geomon.settings import DbSettings, Settings
from tests.conftest import REFERENCE, create_database, drop_database, prepare_database
from tests.helpers.auth import login_cookie


@pytest.fixture(scope="module")
def demo_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_demo")
    try:
        prepare_database(url)
        yield url
    finally:
        drop_database(pg_base_url, url)


def _demo_data(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GEOMON_DB__URL", url)
    monkeypatch.setenv("GEOMON_REFERENCE_DIR", str(REFERENCE))
    result = CliRunner().invoke(
        cli_app, ["demo-data", "--teams", "6", "--incidents", "50", "--login", "duty-officer"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"demo forecast: run \d+, \d+ sectors of AFG-TJK x 71 months", result.output)
    match = re.search(r"password '([^']+)'", result.output)
    assert match, result.output
    return match.group(1)


def test_demo_user_sees_every_agency(demo_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _demo_data(demo_db, monkeypatch)
    password = _demo_data(demo_db, monkeypatch)
    assert password != first
    with psycopg.connect(demo_db) as conn:  # one fix for each demo team
        conn.execute(
            "INSERT INTO device_latest (device_id, fix_time, received_at, geom, valid) "
            "SELECT id, now(), now(), ST_SetSRID(ST_MakePoint(70, 40), 4326), true "
            "FROM devices WHERE uid LIKE 'TEAM-%'"
        )
        agencies = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT a.code FROM devices d JOIN agencies a ON a.id = d.agency_id "
                "WHERE d.uid LIKE 'TEAM-%'"
            )
        }
    assert len(agencies) >= 2
    app = create_app(Settings(db=DbSettings(url=demo_db)))
    with TestClient(app) as client:
        assert client.post(
            "/auth/login", data={"username": "duty-officer", "password": first}
        ).status_code in (401, 403)
        client.cookies.set("geomon_session", login_cookie(client, "duty-officer", password))
        body = client.get("/api/v1/devices/latest").json()
        runs = client.get("/api/v1/forecasts/runs").json()["runs"]
    seen = {f["properties"]["agency"] for f in body["features"]}
    assert seen == agencies
    # the demo's forecast of the Afghan-Tajik border, shared to the situation centre
    assert runs and runs[0]["status"] == "done" and runs[0]["params"]["border"] == "AFG-TJK"
