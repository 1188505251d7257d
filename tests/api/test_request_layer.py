"""The request layer's contract (api/deps.py): every private route gets its principal from a
dependency, a connection cannot be had without one, nothing falls back to "no auth", and no
two routes of one method match the same path (so registration order cannot matter)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import compile_path

from api import deps
from api.app import create_app
from api.auth import PUBLIC_ROUTES, current_principal
from geomon.settings import DbSettings, Settings
from tests.api.seed import Seed

API = Path(__file__).resolve().parents[2] / "api"


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def routes_without_principal(app: FastAPI) -> list[tuple[str, str]]:
    """Private (method, path) whose own dependency tree never asks for the principal: they
    would rely on the app-wide gate alone, and get data without a caller."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(ctx.methods or ()):
            if (method, ctx.path) in PUBLIC_ROUTES or ctx.path == "/openapi.json":
                continue
            if current_principal not in set(_calls(route.dependant)):
                out.append((method, ctx.path))
    return out


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(db=DbSettings(url="postgresql://unused@127.0.0.1:1/none")))


def test_every_private_route_asks_for_the_principal(app: FastAPI) -> None:
    assert routes_without_principal(app) == []


def test_dropping_the_principal_dependency_fails_the_check() -> None:
    """What the check above catches: a route that takes a pool connection and a role check
    that resolves to nothing (the fallbacks this layer used to have)."""
    app = create_app(Settings(db=DbSettings(url="postgresql://unused@127.0.0.1:1/none")))
    late = APIRouter()

    async def pool_conn(request: Request) -> Any:
        return request.app.state.pool

    @late.get("/leaky")
    async def leaky(conn: Any = Depends(pool_conn)) -> None:
        return None

    @late.get("/no-role")
    async def no_role(_: None = Depends(lambda: None)) -> None:
        return None

    @late.get("/fine")
    async def fine(conn: deps.ReadConn, who: deps.Analyst) -> None:
        return None

    app.include_router(late, prefix="/api/v9")
    assert routes_without_principal(app) == [("GET", "/api/v9/leaky"), ("GET", "/api/v9/no-role")]


async def test_no_connection_without_a_principal() -> None:
    app = FastAPI()
    request = Request({"type": "http", "app": app, "headers": [], "method": "GET", "path": "/"})
    with pytest.raises(TypeError, match="needs a Principal"):
        async with deps.scoped_transaction(request, None):  # type: ignore[arg-type]
            pass


def test_no_fallbacks_or_lookups_by_name_in_the_request_layer() -> None:
    """getattr on modules or on request.state, Depends(lambda …) and the owner pool are how
    the old layer failed open; none may come back."""
    bad = []
    # auth.py sets and caches the principal; i18n.py picks a page's language (the login page
    # has no caller); health.py pings the owner pool and returns no rows
    reviewed = {"auth.py", "i18n.py", "health.py"}
    for path in API.rglob("*.py"):
        if path.name in reviewed:
            continue
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "getattr" and node.args:
                    target = ast.unparse(node.args[0])
                    if target in ("deps", "request.state") or target.endswith(".principal"):
                        bad.append(f"{path.name}:{node.lineno}: getattr({target}, …)")
                if node.func.id == "Depends" and node.args and isinstance(node.args[0], ast.Lambda):
                    bad.append(f"{path.name}:{node.lineno}: Depends(lambda …)")
        if path.parent.name == "routes" and "state.pool" in text:
            bad.append(f"{path.name}: uses the owner pool")
    assert bad == []


def _sample(template: str) -> str:
    return re.sub(r"\{[^}:]+(?::[^}]*)?\}", "1", template)


def test_no_two_routes_match_one_path(app: FastAPI) -> None:
    """For each route, the concrete paths of every route (parameters filled with 1 or kept
    literal) are matched by exactly that route among those of the same method: no route
    shadows another, so the order in which app.py includes routers cannot change answers."""
    routes = [
        (m, ctx.path, compile_path(ctx.path)[0])
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute)
        for m in (ctx.methods or ())
    ]
    clashes = []
    for method, template, _ in routes:
        path = _sample(template)
        hits = [t for m, t, rx in routes if m == method and rx.match(path)]
        if hits != [template]:
            clashes.append((method, path, hits))
    assert clashes == []


def test_the_shadowing_check_sees_a_shadow() -> None:
    """Without the :int convertor, /hotspots/{run_id} matches /hotspots/runs."""
    plain = compile_path("/api/v1/hotspots/{run_id}")[0]
    typed = compile_path("/api/v1/hotspots/{run_id:int}")[0]
    assert plain.match("/api/v1/hotspots/runs") and not typed.match("/api/v1/hotspots/runs")


def test_hotspot_routes_live_in_one_module(app: FastAPI) -> None:
    modules = {
        ctx.original_route.endpoint.__module__
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute) and ctx.path.startswith("/api/v1/hotspots")
    }
    assert modules == {"api.routes.hotspots"}


def test_old_hotspot_paths_are_deprecated_aliases(client: TestClient, seed: Seed) -> None:
    run = seed.hotspot_run
    new = client.get(f"/api/v1/hotspots/runs/{run}")
    old = client.get(f"/api/v1/hotspots/{run}")
    assert new.status_code == old.status_code == 200
    assert new.json()["id"] == old.json()["id"] == run
    cells_new = client.get(f"/api/v1/hotspots/runs/{run}/cells")
    cells_old = client.get(f"/api/v1/hotspots/{run}/cells")
    assert cells_new.content == cells_old.content and cells_old.status_code == 200
    assert run in [r["id"] for r in client.get("/api/v1/hotspots").json()["runs"]]
    assert run in [r["id"] for r in client.get("/api/v1/hotspots/runs").json()["runs"]]
    # a non-numeric id is no longer swallowed by the alias: 404 (no such route), not 422
    assert client.get("/api/v1/hotspots/nope").status_code == 404
    doc = client.get("/openapi.json").json()["paths"]
    assert doc["/api/v1/hotspots/{run_id}"]["get"]["deprecated"] is True
    assert "deprecated" not in doc["/api/v1/hotspots/runs/{run_id}"]["get"]


def test_a_route_without_credentials_gets_401_not_data(client: TestClient, seed: Seed) -> None:
    anon = TestClient(client.app)
    for path in ("/api/v1/devices/latest", "/api/v1/hotspots", "/api/v1/corridors"):
        assert anon.get(path, headers={"accept": "application/json"}).status_code == 401


def test_read_conn_is_under_the_callers_rls(client: TestClient, seed: Seed) -> None:
    """ReadConn's transaction carries the caller's agency (the context RLS reads)."""
    app = client.app
    probe = APIRouter()

    @probe.get("/api/v9/context")
    async def context(conn: deps.ReadConn, who: deps.Caller) -> dict[str, Any]:
        cur = await conn.execute("SELECT current_setting('geomon.agency_id', true)")
        row = await cur.fetchone()
        assert row is not None
        return {"agency": row[0], "mine": who.agency_id}

    app.include_router(probe)  # type: ignore[attr-defined]
    body = client.get("/api/v9/context").json()
    assert body["agency"] == str(body["mine"])
    assert isinstance(psycopg.AsyncConnection, type)


def test_app_state_is_one_typed_object(app: FastAPI) -> None:
    """``app.state`` is the AppState of api/state.py, and code reads it through app_state()
    (typed) rather than ``request.app.state.<name>`` (Any to mypy)."""
    from api.state import AppState, app_state

    assert isinstance(app.state, AppState) and app_state(app).settings is app.state.settings
    untyped = []
    for path in API.rglob("*.py"):
        if path.name in ("state.py", "app.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "state":
                owner = ast.unparse(node.value)
                if owner == "app" or owner.endswith(".app"):
                    untyped.append(f"{path.relative_to(API)}:{node.lineno}: {owner}.state")
    assert untyped == [], "use api.state.app_state(request) and add the field to AppState"
