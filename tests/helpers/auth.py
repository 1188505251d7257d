"""Test helpers for the auth contract: users with tokens, and browser-style login cookies.

username, password, token = make_user(db_url, role="analyst", agency="KGZ-BS")
headers = {"Authorization": f"Bearer {token}"}
cookie = login_cookie(base_url, username, password)   # value of geomon_session
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import psycopg

from geomon.credentials import (
    USER_TOKEN_PREFIX,
    generate_password,
    hash_password,
    new_ingest_token,
    new_token,
    token_digest,
)
from geomon.store.devices import ensure_agency, set_device_token
from geomon.store.users import create_token, create_user

SESSION_COOKIE = "geomon_session"


def make_user(
    db_url: str,
    *,
    role: str = "viewer",
    agency: str | None = "KGZ-BS",
    ttl: timedelta = timedelta(days=1),
    name: str | None = None,
) -> tuple[str, str, str]:
    """A new user (unique name) of ``agency`` (created if missing) with a fresh API token."""
    username = name or f"{role}-{uuid.uuid4().hex[:8]}"
    password = generate_password()
    token = new_token(USER_TOKEN_PREFIX)
    with psycopg.connect(db_url) as conn:
        if agency:
            ensure_agency(conn, agency)
        create_user(
            conn, name=username, password_hash=hash_password(password), role=role, agency=agency
        )
        create_token(conn, digest=token_digest(token), ttl=ttl, user=username, label="test")
    return username, password, token


def make_device_token(db_url: str, uid: str) -> str:
    """A new ingest token for registered device ``uid`` (as ``geomon tokens create --device``)."""
    token, token_hash = new_ingest_token()
    with psycopg.connect(db_url) as conn:
        set_device_token(conn, uid, token_hash)
    return token


def login_cookie(base_url: str | httpx.Client, username: str, password: str) -> str:
    """Log in through ``POST /auth/login`` and return the ``geomon_session`` cookie value.

    ``base_url`` may also be an httpx.Client (e.g. FastAPI's TestClient)."""
    data = {"username": username, "password": password}
    if isinstance(base_url, str):
        resp = httpx.post(f"{base_url.rstrip('/')}/auth/login", data=data, timeout=30)
    else:
        resp = base_url.post("/auth/login", data=data)
    resp.raise_for_status()
    cookie = resp.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AssertionError(f"login answered {resp.status_code} without a session cookie")
    return cookie
