"""Admin pages' API on a real PostGIS: users (create with a one-time password that logs in and
must be changed, role, lock/unlock, reset), devices (register with an ingest token shown once,
stored as an argon2 hash that verifies), scope (an agency's admin manages its own people only;
analysts get 403), and every change in the audit log without its secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from geomon.store.audit import audit_rows
from tests.helpers.auth import make_user


@pytest.fixture(scope="module")
def admin(db_url: str) -> Iterator[tuple[TestClient, dict[str, dict], dict[str, str]]]:
    a, b = "AA" + uuid.uuid4().hex[:4], "AB" + uuid.uuid4().hex[:4]
    made = {
        "admin": make_user(db_url, role="admin", agency=a),
        "analyst": make_user(db_url, role="analyst", agency=a),
        "other": make_user(db_url, role="viewer", agency=b),
    }
    heads = {k: {"Authorization": f"Bearer {u[2]}"} for k, u in made.items()}
    app = create_app(Settings(db=DbSettings(url=db_url)))
    with TestClient(app) as client:
        yield client, heads, {"a": a, "b": b, **{k: u[0] for k, u in made.items()}}


def _login(client: TestClient, name: str, password: str) -> int:
    r = client.post(
        "/auth/login", data={"username": name, "password": password}, follow_redirects=False
    )
    client.cookies.clear()
    return r.status_code


def test_users_create_lock_reset(admin, db_url: str) -> None:  # type: ignore[no-untyped-def]
    client, heads, names = admin
    with psycopg.connect(db_url) as conn:
        before = max([r["id"] for r in audit_rows(conn)] or [0])
    new = f"duty-{uuid.uuid4().hex[:6]}"
    body = {"name": new, "role": "viewer", "agency": names["a"]}
    assert (
        client.post("/api/v1/admin/users", json=body, headers=heads["analyst"]).status_code == 403
    )
    r = client.post("/api/v1/admin/users", json=body, headers=heads["admin"])
    assert r.status_code == 201, r.text
    user, password = r.json(), r.json()["password"]
    assert len(password) >= 20 and user["must_change_password"] is True
    assert client.post("/api/v1/admin/users", json=body, headers=heads["admin"]).status_code == 422
    assert _login(client, new, password) in (200, 303)
    listed = client.get("/api/v1/admin/users", headers=heads["admin"]).json()["users"]
    assert {u["name"] for u in listed} >= {new, names["admin"], names["analyst"]}
    assert names["other"] not in {u["name"] for u in listed}  # another agency's user

    url = f"/api/v1/admin/users/{user['id']}"
    r = client.patch(url, json={"role": "analyst", "locked": True}, headers=heads["admin"])
    assert (r.json()["role"], r.json()["locked"]) == ("analyst", True)
    assert _login(client, new, password) == 401  # locked
    r = client.post(url + "/password", headers=heads["admin"])
    fresh = r.json()["password"]
    assert fresh != password and r.json()["locked"] is False
    assert _login(client, new, password) == 401 and _login(client, new, fresh) in (200, 303)
    r = client.patch(url, json={"role": "admin"}, headers=heads["admin"])
    assert r.status_code == 403  # an agency's admin makes no admins
    other = [u for u in client.get("/api/v1/admin/users", headers=heads["admin"]).json()["users"]]
    assert all(u["agency"] == names["a"] for u in other)
    with psycopg.connect(db_url) as conn:
        other_id = conn.execute(
            "SELECT id FROM users WHERE name = %s", (names["other"],)
        ).fetchone()[0]
        rows = [r for r in audit_rows(conn, since_id=before) if "/admin/" in r["route"]]
    r = client.patch(
        f"/api/v1/admin/users/{other_id}", json={"locked": True}, headers=heads["admin"]
    )
    assert r.status_code == 404
    changes = [(r["method"], r["route"], r["status"]) for r in rows]
    assert ("POST", "/api/v1/admin/users", 201) in changes
    assert ("PATCH", "/api/v1/admin/users/{user_id}", 200) in changes
    assert ("POST", "/api/v1/admin/users/{user_id}/password", 200) in changes
    text = repr(rows)
    assert password not in text and fresh not in text  # never a secret in the audit log


def test_devices_register_with_a_token_shown_once(admin, db_url: str) -> None:  # type: ignore[no-untyped-def]
    client, heads, names = admin
    uid = f"ADM-{uuid.uuid4().hex[:8]}"
    body = {"uid": uid, "kind": "phone", "name": "Team Khorog 2"}
    assert (
        client.post("/api/v1/admin/devices", json=body, headers=heads["analyst"]).status_code == 403
    )
    r = client.post("/api/v1/admin/devices", json=body, headers=heads["admin"])
    assert r.status_code == 201, r.text
    dev, token = r.json(), r.json()["token"]
    assert dev["agency"] == names["a"] and dev["has_token"] is True and len(token) >= 30
    assert (
        client.post("/api/v1/admin/devices", json=body, headers=heads["admin"]).status_code == 422
    )
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT token_hash FROM devices WHERE uid = %s", (uid,)).fetchone()[0]
    assert token not in stored and PasswordHasher().verify(stored, token)
    listed = client.get("/api/v1/admin/devices", headers=heads["admin"]).json()["devices"]
    assert uid in {d["uid"] for d in listed} and all("token" not in d for d in listed)
    r = client.post(f"/api/v1/admin/devices/{dev['id']}/token", headers=heads["admin"])
    new = r.json()["token"]
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT token_hash FROM devices WHERE uid = %s", (uid,)).fetchone()[0]
    assert new != token and PasswordHasher().verify(stored, new)
    bad = {"uid": "x y", "kind": "phone"}
    assert client.post("/api/v1/admin/devices", json=bad, headers=heads["admin"]).status_code == 422
