"""Logins, sessions, lockout, token expiry and device tokens, through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from tests.helpers.auth import SESSION_COOKIE, login_cookie, make_device_token, make_user


@pytest.fixture(scope="module")
def client(db_url: str, app_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(db=DbSettings(url=db_url, app_url=app_db_url)))
    with TestClient(app) as c:
        yield c


def _me(client: TestClient, **kw) -> int:
    client.cookies.clear()
    return client.get("/auth/me", **kw).status_code


def test_session_cookie_login_and_logout(client: TestClient, db_url: str) -> None:
    name, password, _ = make_user(db_url, role="viewer", agency="KGZ-BS")
    client.cookies.clear()
    resp = client.post("/auth/login", data={"username": name, "password": password})
    assert resp.status_code == 200 and resp.json()["user"] == name
    set_cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "samesite=lax" in set_cookie.lower()
    cookie = resp.cookies[SESSION_COOKIE]
    with psycopg.connect(db_url) as conn:  # only a digest is stored
        stored = conn.execute(
            "SELECT token_hash FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = %s",
            (name,),
        ).fetchall()
    assert len(stored) == 1 and cookie not in stored[0][0] and len(stored[0][0]) == 64
    assert _me(client, cookies={SESSION_COOKIE: cookie}) == 200
    client.cookies.clear()
    assert client.post("/auth/logout", cookies={SESSION_COOKIE: cookie}).status_code == 200
    assert _me(client, cookies={SESSION_COOKIE: cookie}) == 401  # the session row is gone


def test_login_form_redirects_to_next_but_never_off_site(client: TestClient, db_url: str) -> None:
    name, password, _ = make_user(db_url, role="viewer", agency="KGZ-BS")
    for asked, expected in (
        ("/map?x=1", "/map?x=1"),
        ("//evil.example/", "/map"),
        ("https://evil.example/", "/map"),
        ("/\\evil.example", "/map"),
    ):
        client.cookies.clear()
        resp = client.post(
            "/auth/login",
            follow_redirects=False,
            data={"username": name, "password": password, "next": asked},
        )
        assert resp.status_code == 303 and resp.headers["location"] == expected
    form = client.get("/login?next=/map%22%3E%3Cscript%3E").text
    assert "<script>" not in form and 'action="/auth/login"' in form


def test_five_failures_lock_the_account_even_for_the_right_password(
    client: TestClient, db_url: str
) -> None:
    name, password, token = make_user(db_url, role="analyst", agency="KGZ-BS")
    client.cookies.clear()
    for _ in range(5):
        bad = client.post("/auth/login", data={"username": name, "password": "wrong-password!"})
        assert bad.status_code == 401
    right = client.post("/auth/login", data={"username": name, "password": password})
    assert right.status_code == 401
    assert _me(client, headers={"Authorization": f"Bearer {token}"}) == 401  # tokens too
    with psycopg.connect(db_url) as conn:
        minutes = conn.execute(
            "SELECT extract(epoch FROM locked_until - now()) / 60 FROM users WHERE name = %s",
            (name,),
        ).fetchone()[0]
        assert minutes >= 9.9  # locked for at least 10 minutes
        conn.execute(
            "UPDATE users SET locked_until = now() - interval '1 second' WHERE name = %s", (name,)
        )
    assert (
        client.post("/auth/login", data={"username": name, "password": password}).status_code == 200
    )


def test_four_failures_then_success_reset_the_counter(client: TestClient, db_url: str) -> None:
    name, password, _ = make_user(db_url, role="viewer", agency="KGZ-BS")
    client.cookies.clear()
    for _ in range(4):
        client.post("/auth/login", data={"username": name, "password": "nope-nope-nope"})
    assert (
        client.post("/auth/login", data={"username": name, "password": password}).status_code == 200
    )
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT failed_logins, locked_until FROM users WHERE name = %s", (name,)
        ).fetchone() == (0, None)


def test_unknown_user_and_wrong_password_look_the_same(client: TestClient, db_url: str) -> None:
    name, _, _ = make_user(db_url, role="viewer", agency="KGZ-BS")
    client.cookies.clear()
    a = client.post("/auth/login", data={"username": name, "password": "wrong-password!"})
    b = client.post("/auth/login", data={"username": "nobody-x", "password": "wrong-password!"})
    assert (a.status_code, a.json()) == (b.status_code, b.json()) == (401, a.json())


def test_expired_and_unknown_tokens_are_refused(client: TestClient, db_url: str) -> None:
    _, _, live = make_user(db_url, role="viewer", agency="KGZ-BS")
    _, _, expired = make_user(db_url, role="viewer", agency="KGZ-BS", ttl=timedelta(seconds=-1))
    assert _me(client, headers={"Authorization": f"Bearer {live}"}) == 200
    assert _me(client, headers={"Authorization": f"Bearer {expired}"}) == 401
    assert _me(client, headers={"Authorization": f"Bearer {live}x"}) == 401
    assert _me(client, headers={"Authorization": f"Basic {live}"}) == 401


def test_device_tokens_cannot_read(client: TestClient, db_url: str, conn) -> None:
    from geomon.store.devices import add_device

    add_device(conn, uid="ACL-DEV-1", kind="tracker", agency="ACL-DEVICES")  # not a seed agency
    conn.commit()
    token = make_device_token(db_url, "ACL-DEV-1")
    client.cookies.clear()
    resp = client.get("/api/v1/devices/latest", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403


def test_one_time_password_must_be_changed_first(client: TestClient, db_url: str) -> None:
    name, password, _ = make_user(db_url, role="analyst", agency="KGZ-BS")
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE users SET must_change_password = true WHERE name = %s", (name,))
    cookie = login_cookie(client, name, password)
    client.cookies.clear()
    jar = {SESSION_COOKIE: cookie}
    assert client.get("/api/v1/devices/latest", cookies=jar).status_code == 403
    new = "a-much-better-passphrase"
    assert (
        client.post(
            "/auth/password", cookies=jar, data={"current": password, "new": new}
        ).status_code
        == 200
    )
    assert client.get("/api/v1/devices/latest", cookies=jar).status_code == 401  # sessions end
    cookie = login_cookie(client, name, new)
    client.cookies.clear()
    assert client.get("/api/v1/devices/latest", cookies={SESSION_COOKIE: cookie}).status_code == 200


def test_browser_one_time_password_flow(client: TestClient, db_url: str) -> None:
    name, password, _ = make_user(db_url, role="viewer", agency="KGZ-BS")
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE users SET must_change_password = true WHERE name = %s", (name,))
    client.cookies.clear()
    resp = client.post(
        "/auth/login",
        follow_redirects=False,
        data={"username": name, "password": password, "next": "/map"},
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/auth/password?next=/map"
    jar = {SESSION_COOKIE: resp.cookies[SESSION_COOKIE]}
    client.cookies.clear()
    form = client.get("/auth/password?next=/map", cookies=jar)
    assert form.status_code == 200 and 'action="/auth/password"' in form.text
    assert "{" not in form.text.split("<style>")[0]  # no unformatted placeholders
    done = client.post(
        "/auth/password",
        cookies=jar,
        follow_redirects=False,
        data={"current": password, "new": "another-long-passphrase", "next": "/map"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?next=/map"
