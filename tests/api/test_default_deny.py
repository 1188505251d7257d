"""Default deny: every route of the app answers 401 without credentials unless it is on the
reviewed public list, including routes added after the app was built."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.app import create_app
from api.auth import PUBLIC_MOUNTS, PUBLIC_ROUTES
from geomon.settings import DbSettings, Settings

# The reviewed list. Changing api.auth.PUBLIC_ROUTES means changing this line in review too.
REVIEWED = {
    ("GET", "/health"),
    ("GET", "/login"),
    ("POST", "/auth/login"),
    ("POST", "/auth/logout"),
}


@pytest.fixture(scope="module")
def app_client(db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(db=DbSettings(url=db_url)))
    with TestClient(app) as c:
        yield c


def concrete(path: str) -> str:
    """A request path for a route template: every parameter becomes 1."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_public_list_is_the_reviewed_one() -> None:
    assert set(PUBLIC_ROUTES) == REVIEWED
    assert PUBLIC_MOUNTS == ("/static/vendor/", "/static/app/")


def test_every_unlisted_route_needs_credentials(app_client: TestClient) -> None:
    checked, open_routes = 0, []
    for ctx in iter_route_contexts(app_client.app.routes):
        route = ctx.original_route
        if isinstance(route, Mount):
            assert (ctx.path + "/").startswith(PUBLIC_MOUNTS), f"unreviewed mount {ctx.path}"
            continue
        if isinstance(route, APIWebSocketRoute):
            with (
                pytest.raises(Exception),  # noqa: B017
                app_client.websocket_connect(concrete(ctx.path)),
            ):
                pass  # any refusal of the handshake
            continue
        assert isinstance(route, APIRoute), f"{ctx.path}: not an APIRoute, the gate misses it"
        for method in sorted(ctx.methods or ()):
            if (method, ctx.path) in PUBLIC_ROUTES:
                continue
            resp = app_client.request(method, concrete(ctx.path), headers={"accept": "*/*"})
            checked += 1
            if resp.status_code != 401:
                open_routes.append((method, ctx.path, resp.status_code))
    assert open_routes == []
    assert checked >= 5


def test_public_routes_exist_and_answer_without_credentials(app_client: TestClient) -> None:
    paths = {
        (m, c.path) for c in iter_route_contexts(app_client.app.routes) for m in (c.methods or ())
    }
    assert paths >= REVIEWED
    assert app_client.get("/health").status_code == 200
    assert app_client.get("/login").status_code == 200
    assert app_client.post("/auth/logout").status_code == 200


def test_browsers_are_sent_to_the_login_form(app_client: TestClient) -> None:
    resp = app_client.get("/map?layer=x", headers={"accept": "text/html"}, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/map%3Flayer%3Dx"
    api = app_client.get("/api/v1/devices/latest", headers={"accept": "application/json"})
    assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")


def test_routes_added_after_create_app_are_protected(db_url: str) -> None:
    app = create_app(Settings(db=DbSettings(url=db_url)))
    late = APIRouter()

    @late.get("/late/thing")
    async def late_thing() -> dict[str, str]:
        return {"secret": "yes"}

    app.include_router(late, prefix="/api/v9")

    @app.get("/health/details")  # looks public, is not
    async def details() -> dict[str, str]:
        return {"secret": "yes"}

    with TestClient(app) as c:
        assert c.get("/api/v9/late/thing").status_code == 401
        assert c.get("/health/details").status_code == 401


def test_openapi_document_is_behind_login(app_client: TestClient) -> None:
    assert app_client.get("/openapi.json").status_code == 401
    assert app_client.get("/docs").status_code in (401, 404)
