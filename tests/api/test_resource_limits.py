"""Request-body limit and per-transaction statement timeout, through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import WriteConn
from geomon.settings import DbSettings, LimitsSettings, Settings
from tests.helpers.auth import make_user


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str) -> Iterator[TestClient]:
    settings = Settings(
        db=DbSettings(url=db_url, app_url=app_db_url, statement_timeout_ms=300),
        limits=LimitsSettings(max_body_bytes=2048),
    )
    app = create_app(settings)

    @app.get("/api/v1/test-slow")
    async def slow(conn: WriteConn) -> dict[str, str]:
        await conn.execute("SELECT pg_sleep(3)")
        return {"status": "finished"}

    @app.get("/api/v1/test-context")
    async def context(conn: WriteConn) -> dict[str, str]:
        cur = await conn.execute(
            "SELECT current_user, current_setting('geomon.agency_id'), "
            "current_setting('geomon.role'), current_setting('statement_timeout')"
        )
        user, agency, role, timeout = await cur.fetchone()
        return {"user": user, "agency": agency, "role": role, "timeout": timeout}

    @app.post("/api/v1/test-create")
    async def create(request: Request, conn: WriteConn, fail: bool = False) -> dict[str, int]:
        if fail:
            raise HTTPException(409, "conflict")
        request.state.audit_params = {"id": 4242}
        return {"id": 4242}

    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {make_user(db_url, role='analyst')[2]}"
        yield c


def test_declared_body_over_the_limit_is_refused(client: TestClient) -> None:
    resp = client.post(
        "/auth/login",
        content=b"x" * 4096,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 413


def test_streamed_body_over_the_limit_is_refused(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"username=" + b"y" * 1000

    resp = client.post(
        "/auth/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 413


def test_small_bodies_pass(client: TestClient) -> None:
    resp = client.post("/auth/login", data={"username": "nobody-here", "password": "x" * 20})
    assert resp.status_code == 401


def test_statement_timeout_applies_to_api_transactions(client: TestClient) -> None:
    resp = client.get("/api/v1/test-slow")
    assert resp.status_code == 503 and "longer than 300 ms" in resp.json()["detail"]
    ctx = client.get("/api/v1/test-context").json()
    assert ctx["user"].startswith("geomon_app_t")  # the app role, not the owner
    assert ctx["role"] == "analyst" and ctx["agency"] != "" and ctx["timeout"] == "300ms"


def test_changes_are_audited_with_outcome_and_route_params(client: TestClient, db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        last = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    assert client.post("/api/v1/test-create").status_code == 200
    assert client.post("/api/v1/test-create?fail=true").status_code == 409
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT route, status, params, username FROM audit_log "
            "WHERE id > %s AND route = '/api/v1/test-create' ORDER BY id",
            (last,),
        ).fetchall()
    assert [(r[1], r[2]) for r in rows] == [(200, {"id": 4242}), (409, {"fail": "true"})]
    assert rows[0][3] is not None and rows[0][3] == rows[1][3]
