"""api/errors.py: domain errors only, one table, per-router statuses, request ids on 5xx."""

from __future__ import annotations

import ast
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import APIRouter, Query
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Caller, WriteConn
from api.errors import REQUEST_ID_HEADER, error_route
from geomon.errors import InvalidRequest, StoreError
from geomon.settings import DbSettings, Settings
from tests.helpers.auth import make_user

API = Path(__file__).resolve().parents[2] / "api"
INSERT = (
    "INSERT INTO incidents (agency_id, category, occurred_at, geom, source) VALUES "
    "(current_setting('geomon.agency_id')::int, 'seizure', now(), "
    "ST_SetSRID(ST_MakePoint(70, 40), 4326), %s)"
)


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str) -> Iterator[TestClient]:
    app = create_app(
        Settings(db=DbSettings(url=db_url, app_url=app_db_url, pool_min=1, pool_max=1))
    )
    plain = APIRouter()
    tile_like = APIRouter(route_class=error_route({InvalidRequest: 400}, validation_status=400))

    @plain.get("/api/v1/test-err/invalid")
    async def plain_invalid(who: Caller) -> None:
        raise InvalidRequest("plain: wrong")

    @plain.get("/api/v1/test-err/typed")
    async def plain_typed(who: Caller, n: int = Query()) -> dict[str, int]:
        return {"n": n}

    @plain.get("/api/v1/test-err/crash")
    async def crash(who: Caller) -> None:
        raise RuntimeError("a bug, not the caller's fault")

    @plain.get("/api/v1/test-err/store")
    async def store_error(who: Caller) -> None:
        raise StoreError("the database refused")

    @tile_like.get("/api/v1/test-err400/invalid")
    async def tile_invalid(who: Caller) -> None:
        raise InvalidRequest("tile: wrong")

    @tile_like.get("/api/v1/test-err400/typed")
    async def tile_typed(who: Caller, n: int = Query()) -> dict[str, int]:
        return {"n": n}

    @tile_like.post("/api/v1/test-err400/write")
    async def tile_write(conn: WriteConn, source: str) -> None:
        await conn.execute(INSERT, (source,))
        raise InvalidRequest("refused after the insert")

    app.include_router(plain)
    app.include_router(tile_like)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {make_user(db_url, role='analyst')[2]}"
        yield c


def test_the_table_and_a_routers_own_statuses(client: TestClient) -> None:
    r = client.get("/api/v1/test-err/invalid")
    assert (r.status_code, r.json()) == (422, {"detail": "plain: wrong"})
    assert client.get("/api/v1/test-err/typed", params={"n": "x"}).status_code == 422
    r = client.get("/api/v1/test-err400/invalid")
    assert (r.status_code, r.json()) == (400, {"detail": "tile: wrong"})
    r = client.get("/api/v1/test-err400/typed", params={"n": "x"})
    assert r.status_code == 400 and "n" in r.json()["detail"]
    assert client.get("/api/v1/test-err400/typed", params={"n": 3}).json() == {"n": 3}


def test_the_ogc_router_answers_400_without_a_path_rule(client: TestClient) -> None:
    assert client.get("/ogc/collections/incidents/items", params={"limit": "x"}).status_code == 400
    assert client.get("/ogc/collections/incidents/items", params={"nope": 1}).status_code == 400
    assert client.get("/ogc", params={"f": "xml"}).status_code == 400


def test_a_marked_error_still_rolls_the_transaction_back(client: TestClient, db_url: str) -> None:
    source = uuid.uuid4().hex
    assert client.post("/api/v1/test-err400/write", params={"source": source}).status_code == 400
    with psycopg.connect(db_url) as conn:
        n = conn.execute("SELECT count(*) FROM incidents WHERE source = %s", (source,)).fetchone()
    assert n is not None and n[0] == 0


@pytest.mark.parametrize("path", ["/api/v1/test-err/crash", "/api/v1/test-err/store"])
def test_a_5xx_has_a_request_id_the_log_and_the_client_share(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        r = client.get(path)
    assert r.status_code == 500
    rid = r.headers[REQUEST_ID_HEADER]
    assert r.json() == {"detail": "internal error", "request_id": rid}
    assert "a bug" not in r.text and "refused" not in r.text  # no internals to the client
    logged = [rec for rec in caplog.records if rid in rec.getMessage()]
    assert len(logged) == 1, [rec.getMessage() for rec in caplog.records]
    assert logged[0].exc_info is not None  # the traceback
    assert path in logged[0].getMessage()


def test_every_response_has_a_request_id_and_a_sane_one_is_kept(client: TestClient) -> None:
    ids = {client.get("/health").headers[REQUEST_ID_HEADER] for _ in range(3)}
    assert len(ids) == 3
    r = client.get("/api/v1/test-err/crash", headers={REQUEST_ID_HEADER: "lb-1234.abc"})
    assert r.headers[REQUEST_ID_HEADER] == "lb-1234.abc" == r.json()["request_id"]
    r = client.get("/health", headers={REQUEST_ID_HEADER: "x" * 65})
    assert r.headers[REQUEST_ID_HEADER] != "x" * 65
    r = client.get("/health", headers={REQUEST_ID_HEADER: "a\tb"})
    assert r.headers[REQUEST_ID_HEADER] != "a\tb"


def test_an_api_401_has_a_challenge_and_a_browser_goes_to_login(client: TestClient) -> None:
    r = client.get("/api/v1/test-err/invalid", headers={"Authorization": ""})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = client.get(
        "/api/v1/test-err/invalid",
        headers={"Authorization": "", "Accept": "text/html"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/api/v1/test-err/invalid"


def test_no_http_exception_in_the_request_layer() -> None:
    """Routes and services raise geomon.errors; only api/errors.py turns them into HTTP."""
    found = []
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if isinstance(node, ast.Name):
                name = node.id
            elif isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.alias):
                name = node.name
            if name == "HTTPException":
                found.append(f"{path.relative_to(API)}:{getattr(node, 'lineno', '?')}")
    assert found == []
