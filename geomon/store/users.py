"""Users, API tokens, login sessions and agency shares (the SQL side of access control).

Every function takes an open connection and leaves transaction control to the caller.
Secrets never reach the database: only argon2id hashes and sha256 digests are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import psycopg

from geomon.errors import Conflict, InvalidRequest, NotFound
from geomon.store.schema import SHARE_SCOPES, USER_ROLES


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    role: str
    agency_id: int | None
    agency_code: str | None
    disabled: bool
    locked_until: datetime | None
    must_change_password: bool


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Whom a bearer token or session belongs to: a user or (ingest only) a device."""

    user: UserRecord | None
    device_id: int | None


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: UserRecord | None
    reason: str  # ok | bad_credentials | locked | disabled


_USER_COLS = (
    "u.id, u.name, u.role, u.agency_id, a.code, u.disabled, u.locked_until, u.must_change_password"
)
_USER_FROM = "users u LEFT JOIN agencies a ON a.id = u.agency_id"


def _agency_id(conn: psycopg.Connection, code: str) -> int:
    row = conn.execute("SELECT id FROM agencies WHERE code = %s", (code,)).fetchone()
    if row is None:
        raise NotFound(f"no agency with code {code!r}")
    return int(row[0])


def create_user(
    conn: psycopg.Connection,
    *,
    name: str,
    password_hash: str,
    role: str,
    agency: str | None,
    must_change_password: bool = False,
) -> UserRecord:
    """Insert a user; the agency must exist (viewers and analysts need one)."""
    if role not in USER_ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(USER_ROLES)}, not {role!r}")
    if not name.strip():
        raise InvalidRequest("user name must not be empty")
    if role != "admin" and not agency:
        raise InvalidRequest(f"a {role} needs --agency")
    agency_id = _agency_id(conn, agency) if agency else None
    try:
        conn.execute(
            "INSERT INTO users (name, password_hash, role, agency_id, must_change_password) "
            "VALUES (%s, %s, %s, %s, %s)",
            (name, password_hash, role, agency_id, must_change_password),
        )
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"user {name!r} already exists") from exc
    return get_user(conn, name)


def get_user(conn: psycopg.Connection, name: str) -> UserRecord:
    row = conn.execute(
        f"SELECT {_USER_COLS} FROM {_USER_FROM} WHERE u.name = %s", (name,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no user {name!r}")
    return UserRecord(*row)


def list_users(conn: psycopg.Connection) -> list[UserRecord]:
    rows = conn.execute(f"SELECT {_USER_COLS} FROM {_USER_FROM} ORDER BY u.id").fetchall()
    return [UserRecord(*r) for r in rows]


def set_password(
    conn: psycopg.Connection, name: str, password_hash: str, *, one_time: bool = False
) -> None:
    """Set a user's password (and unlock); ``one_time`` makes them change it at next login."""
    cur = conn.execute(
        "UPDATE users SET password_hash = %s, must_change_password = %s, failed_logins = 0, "
        "locked_until = NULL WHERE name = %s",
        (password_hash, one_time, name),
    )
    if cur.rowcount == 0:
        raise NotFound(f"no user {name!r}")


def create_token(
    conn: psycopg.Connection, *, digest: str, ttl: timedelta, user: str, label: str = ""
) -> datetime:
    """Store an API token digest for ``user``; returns when it expires. (Devices have their
    ingest token in ``devices.token_hash``: :func:`geomon.store.devices.set_device_token`.)"""
    owner = conn.execute("SELECT id FROM users WHERE name = %s", (user,)).fetchone()
    if owner is None:
        raise NotFound(f"no user {user!r}")
    row = conn.execute(
        "INSERT INTO api_tokens (token_hash, user_id, label, expires_at) "
        "VALUES (%s, %s, %s, now() + %s) RETURNING expires_at",
        (digest, owner[0], label, ttl),
    ).fetchone()
    assert row is not None
    return cast(datetime, row[0])


def share(conn: psycopg.Connection, *, from_agency: str, to_agency: str, scope: str) -> None:
    """Let ``to_agency`` read ``from_agency``'s rows of ``scope`` (idempotent)."""
    if scope not in SHARE_SCOPES:
        raise InvalidRequest(f"scope must be one of {', '.join(SHARE_SCOPES)}, not {scope!r}")
    conn.execute(
        "INSERT INTO agency_shares (from_agency_id, to_agency_id, scope) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (_agency_id(conn, from_agency), _agency_id(conn, to_agency), scope),
    )


def unshare(conn: psycopg.Connection, *, from_agency: str, to_agency: str, scope: str) -> int:
    cur = conn.execute(
        "DELETE FROM agency_shares WHERE from_agency_id = %s AND to_agency_id = %s AND scope = %s",
        (_agency_id(conn, from_agency), _agency_id(conn, to_agency), scope),
    )
    return cur.rowcount
