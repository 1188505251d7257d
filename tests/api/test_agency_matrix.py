"""For every route that returns data (enumerated from the app): agency B's credentials against
agency A's unshared rows see nothing of A (404 or no trace of A's canary), A itself does, and a
share opens A's rows to B. The server runs over real sockets under the application role
(GEOMON_DB__APP_URL), so PostgreSQL's row-level security is what is being tested end to end.
Also: reads of positions/tracks and changes leave audit rows."""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import uvicorn
from fastapi.routing import APIRoute, iter_route_contexts

from api.app import create_app
from api.auth import PUBLIC_ROUTES
from geomon.settings import DbSettings, Settings
from tests.conftest import free_port
from tests.helpers.agency_data import AgencyData, seed_agency
from tests.helpers.auth import make_user

NOT_DATA = {"/auth/me", "/openapi.json", "/login"}
MAX_COMBINATIONS = 40
STEMS = {
    "device": "device",
    "sensor": "device",
    "zone": "zone",
    "incident": "incident",
    "event": "event",
    "run": "hotspot_run",
    "hotspot": "hotspot_run",
    "surface": "surface",
    "corridor": "corridor",
    "observation": "observation",
}


@pytest.fixture(scope="module")
def server(db_url: str, app_db_url: str) -> Iterator[tuple[str, list[str]]]:
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url)))
    routes = sorted(
        {
            c.path
            for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)
            and "GET" in (c.methods or ())
            and ("GET", c.path) not in PUBLIC_ROUTES
            and c.path not in NOT_DATA
        }
    )
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", routes
    finally:
        srv.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def agencies(db_url: str) -> tuple[AgencyData, AgencyData]:
    with psycopg.connect(db_url) as conn:
        return seed_agency(conn, 0, "MTX"), seed_agency(conn, 1, "MTX")


def fetch(base: str, path: str, token: str, params: dict | None = None) -> tuple[int, bytes]:
    """GET with a bearer token; streams are read for at most one second."""
    headers = {"Authorization": f"Bearer {token}", "accept": "application/json, */*"}
    body = b""
    # streams (the live SSE) are quiet between keep-alives: a short read timeout ends them;
    # everything else may take its time on a loaded machine
    timeout = httpx.Timeout(30, read=5 if path.endswith("/live") else 60)
    with httpx.stream("GET", base + path, headers=headers, params=params, timeout=timeout) as resp:
        started = time.monotonic()
        try:
            for chunk in resp.iter_bytes():
                body += chunk
                if time.monotonic() - started > 1.0 or len(body) > 4_000_000:
                    break
        except httpx.ReadTimeout:  # a quiet stream (SSE between keep-alives): what came counts
            assert resp.headers.get("content-type", "").startswith("text/event-stream"), path
    return resp.status_code, body


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _candidates(name: str, a: AgencyData, collections: list[str], layers: list[str]) -> list[str]:
    ids = sorted({str(v) for v in a.ids.values()})
    x, y = _tile(a.lon, a.lat, 12)
    by_name = {
        "collectionId": collections,
        "layer": layers,
        "z": ["12"],
        "x": [str(x)],
        "y": [str(y)],
        "featureId": ids + [a.device_uid],
    }
    if name in by_name:
        return by_name[name]
    for stem, key in STEMS.items():  # device_id → A's device (by id and uid), run_id → …
        if name.startswith(stem):
            return [str(a.ids[key])] + ([a.device_uid] if key == "device" else [])
    return ids + [a.device_uid] if name.endswith(("id", "Id")) else ["1"]


def concrete_paths(
    template: str, a: AgencyData, collections: list[str], layers: list[str]
) -> list[str]:
    names = re.findall(r"\{([^}:]+)(?::[^}]*)?\}", template)
    options = [_candidates(n, a, collections, layers) for n in names]
    out = []
    for combo in itertools.islice(itertools.product(*options), MAX_COMBINATIONS):
        path = template
        for n, v in zip(names, combo, strict=True):
            path = re.sub(r"\{" + n + r"(?::[^}]*)?\}", v, path, count=1)
        out.append(path)
    return out


def traces(body: bytes, a: AgencyData, sent: str = "") -> bool:
    """Does ``body`` carry A's canary or A's coordinates? The uid we sent ourselves (echoed by
    error messages) does not count; the device's name still does."""
    if a.device_uid in sent:
        body = body.replace(a.device_uid.encode(), b"")
    return a.canary.encode() in body or f"{a.lon:.4f}".encode() in body


def _layers() -> list[str]:
    try:
        from geomon.store.tiles import LAYERS
    except ImportError:
        return ["positions"]
    return sorted(LAYERS)


def _sweep(
    base: str, routes: list[str], token: str, a: AgencyData, collections: list[str]
) -> dict[str, list[tuple[str, int]]]:
    """Per route template: the concrete paths whose answer carries a trace of ``a``."""
    found: dict[str, list[tuple[str, int]]] = {}
    for template in routes:
        for path in concrete_paths(template, a, collections, _layers()):
            status, body = fetch(base, path, token)
            if traces(body, a, sent=path):
                found.setdefault(template, []).append((path, status))
    return found


def test_agency_b_never_sees_agency_a(server, agencies, db_url: str) -> None:
    base, routes = server
    a, b = agencies
    a_token = make_user(db_url, role="admin", agency=a.code)[2]
    status, body = fetch(base, "/ogc/collections", a_token)
    collections = (
        [c["id"] for c in httpx.Response(200, content=body).json()["collections"]]
        if status == 200
        else []
    )
    seen_by_a = _sweep(base, routes, a_token, a, collections)
    print(
        f"A traces its own rows through {len(seen_by_a)} of {len(routes)} GET routes:",
        sorted(seen_by_a),
    )
    # the probe can see: A finds its own canary through the main data routes
    assert len(seen_by_a) >= 10
    assert "/api/v1/devices/latest" in seen_by_a
    assert "/ogc/collections/{collectionId}/items" in seen_by_a
    for role in ("viewer", "admin"):  # RLS ignores the role for reads; the app might not
        b_token = make_user(db_url, role=role, agency=b.code)[2]
        leaks = _sweep(base, routes, b_token, a, collections)
        assert leaks == {}, f"{role} of B sees A's rows: {leaks}"


def test_a_share_opens_a_to_b(server, agencies, db_url: str) -> None:
    base, _ = server
    a, b = agencies
    b_token = make_user(db_url, role="viewer", agency=b.code)[2]
    assert not traces(fetch(base, "/api/v1/devices/latest", b_token)[1], a)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO agency_shares (from_agency_id, to_agency_id, scope) "
            "VALUES (%s, %s, 'positions')",
            (a.agency_id, b.agency_id),
        )
    try:
        assert traces(fetch(base, "/api/v1/devices/latest", b_token)[1], a)
        # positions only: A's incidents stay hidden
        body = fetch(base, "/ogc/collections/incidents/items", b_token, {"limit": 1000})[1]
        assert not traces(body, a)
    finally:
        with psycopg.connect(db_url) as conn:
            conn.execute("DELETE FROM agency_shares WHERE from_agency_id = %s", (a.agency_id,))


def test_position_reads_and_changes_are_audited(server, agencies, db_url: str) -> None:
    base, _ = server
    a, _ = agencies
    name, _, token = make_user(db_url, role="analyst", agency=a.code)
    with psycopg.connect(db_url) as conn:
        last = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    assert fetch(base, "/api/v1/devices/latest", token)[0] == 200
    assert fetch(
        base, f"/api/v1/map/track/{a.ids['device']}", token, {"start": "2000-01-01T00:00:00Z"}
    )[0] in (200, 422)
    assert fetch(base, "/ogc/collections/places/items", token)[0] == 200  # not a position read
    httpx.post(base + "/auth/login", data={"username": name, "password": "wrong-password!"})
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT method, route, status, username, agency_id, params "
            "FROM audit_log WHERE id > %s ORDER BY id",
            (last,),
        ).fetchall()
    routes = [(m, r) for m, r, *_ in rows]
    assert ("GET", "/api/v1/devices/latest") in routes
    assert ("GET", "/api/v1/map/track/{device_id}") in routes
    assert ("GET", "/ogc/collections/{collectionId}/items") not in routes
    latest = next(r for r in rows if r[1] == "/api/v1/devices/latest")
    assert latest[2:5] == (200, name, a.agency_id)
    track = next(r for r in rows if r[1] == "/api/v1/map/track/{device_id}")
    assert track[5]["device_id"] == str(a.ids["device"]) and "start" in track[5]
    login = next(r for r in rows if r[1] == "/auth/login")
    assert login[2] == 401 and login[5]["username"] == name and "password" not in login[5]
