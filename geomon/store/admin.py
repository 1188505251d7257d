"""What the console's admin pages change: users (create, role, agency, lock, reset password)
and devices (register, a new ingest token). Async, on the request's connection.

Users are not under row-level security (auth tables): the scope is applied here. An admin of an
agency manages that agency's users only; an admin without one manages everyone. Devices are
under RLS: an admin registers them in their own agency. Secrets never reach the database: only
argon2id hashes (the caller shows the plain value once).
"""

from __future__ import annotations

from typing import Any

import psycopg

from geomon.errors import Forbidden, InvalidRequest, NotFound
from geomon.store.schema import DEVICE_KINDS, USER_ROLES

_USERS = (
    "SELECT u.id, u.name, u.role, a.code AS agency, u.disabled, u.locked_until, "
    "u.must_change_password, u.failed_logins, u.created_at FROM users u "
    "LEFT JOIN agencies a ON a.id = u.agency_id "
)


async def _fetch(conn: psycopg.AsyncConnection, sql: str, params: Any) -> list[dict[str, Any]]:
    cur = await conn.execute(sql, params)
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


async def list_users(
    conn: psycopg.AsyncConnection, scope_agency: int | None
) -> list[dict[str, Any]]:
    """Users an admin may manage (``scope_agency`` None = all)."""
    return await _fetch(
        conn,
        _USERS + "WHERE %(a)s::int IS NULL OR u.agency_id = %(a)s ORDER BY u.name",
        {"a": scope_agency},
    )


async def get_user(
    conn: psycopg.AsyncConnection, user_id: int, scope_agency: int | None
) -> dict[str, Any]:
    rows = await _fetch(
        conn,
        _USERS + "WHERE u.id = %(id)s AND (%(a)s::int IS NULL OR u.agency_id = %(a)s)",
        {"id": user_id, "a": scope_agency},
    )
    if not rows:
        raise NotFound(f"no user {user_id}")
    return rows[0]


async def _agency_id(conn: psycopg.AsyncConnection, code: str | None) -> int | None:
    if code is None:
        return None
    cur = await conn.execute("SELECT id FROM agencies WHERE code = %s", (code,))
    row = await cur.fetchone()
    if row is None:
        raise InvalidRequest(f"no agency with code {code!r}")
    return int(row[0])


def _check_scope(scope_agency: int | None, agency_id: int | None, role: str) -> None:
    if scope_agency is not None and (agency_id != scope_agency or role == "admin"):
        raise Forbidden("an agency's admin manages its own viewers and analysts only")


async def create_user(
    conn: psycopg.AsyncConnection,
    *,
    name: str,
    role: str,
    agency: str | None,
    password_hash: str,
    scope_agency: int | None,
) -> dict[str, Any]:
    """A new user who must change the (one-time) password at first login."""
    if role not in USER_ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(USER_ROLES)}")
    agency_id = await _agency_id(conn, agency)
    if role != "admin" and agency_id is None:
        raise InvalidRequest(f"a {role} needs an agency")
    _check_scope(scope_agency, agency_id, role)
    try:
        cur = await conn.execute(
            "INSERT INTO users (name, password_hash, role, agency_id, must_change_password) "
            "VALUES (%s, %s, %s, %s, true) ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, password_hash, role, agency_id),
        )
    except psycopg.errors.CheckViolation as exc:
        raise InvalidRequest(f"user refused by the database: {exc.diag.message_primary}") from exc
    row = await cur.fetchone()
    if row is None:
        raise InvalidRequest(f"user {name!r} already exists")
    return await get_user(conn, int(row[0]), None)


async def update_user(
    conn: psycopg.AsyncConnection,
    user_id: int,
    *,
    scope_agency: int | None,
    role: str | None = None,
    agency: str | None = None,
    locked: bool | None = None,
    disabled: bool | None = None,
) -> dict[str, Any]:
    """Change role/agency, lock (until unlocked) or unlock, disable or enable a user."""
    current = await get_user(conn, user_id, scope_agency)
    new_role = role or current["role"]
    if new_role not in USER_ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(USER_ROLES)}")
    agency_id = await _agency_id(conn, agency if agency is not None else current["agency"])
    if new_role != "admin" and agency_id is None:
        raise InvalidRequest(f"a {new_role} needs an agency")
    _check_scope(scope_agency, agency_id, new_role)
    await conn.execute(
        "UPDATE users SET role = %(role)s, agency_id = %(agency)s, "
        "locked_until = CASE WHEN %(locked)s::boolean IS NULL THEN locked_until "
        "WHEN %(locked)s THEN '9999-12-31 00:00Z'::timestamptz ELSE NULL END, "
        "failed_logins = CASE WHEN %(locked)s::boolean IS FALSE THEN 0 ELSE failed_logins END, "
        "disabled = coalesce(%(disabled)s, disabled) WHERE id = %(id)s",
        {
            "role": new_role,
            "agency": agency_id,
            "locked": locked,
            "disabled": disabled,
            "id": user_id,
        },
    )
    if locked or disabled:  # a locked or disabled user's sessions end now
        await conn.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
    return await get_user(conn, user_id, None)


async def reset_password(
    conn: psycopg.AsyncConnection, user_id: int, *, password_hash: str, scope_agency: int | None
) -> dict[str, Any]:
    """A new one-time password (changed at next login); unlocks; ends the user's sessions."""
    await get_user(conn, user_id, scope_agency)
    await conn.execute(
        "UPDATE users SET password_hash = %s, must_change_password = true, failed_logins = 0, "
        "locked_until = NULL WHERE id = %s",
        (password_hash, user_id),
    )
    await conn.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
    return await get_user(conn, user_id, None)


_DEVICES = (
    "SELECT d.id, d.uid, d.kind, d.name, a.code AS agency, d.active, "
    "d.token_hash IS NOT NULL AS has_token, d.created_at FROM devices d "
    "JOIN agencies a ON a.id = d.agency_id "
)


async def list_devices(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """Devices the caller may see (row-level security)."""
    return await _fetch(conn, _DEVICES + "ORDER BY d.name, d.id", ())


async def register_device(
    conn: psycopg.AsyncConnection,
    *,
    uid: str,
    kind: str,
    name: str | None,
    agency_id: int,
    token_hash: str | None,
) -> dict[str, Any]:
    """A new device of the caller's agency (a uid already registered is refused)."""
    if kind not in DEVICE_KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(DEVICE_KINDS)}")
    cur = await conn.execute("SELECT 1 FROM devices WHERE uid = %s", (uid,))
    if await cur.fetchone() is not None:
        raise InvalidRequest(f"device {uid!r} is already registered")
    try:
        cur = await conn.execute(
            "INSERT INTO devices (uid, kind, agency_id, name, token_hash) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (uid, kind, agency_id, name or uid, token_hash),
        )
    except psycopg.errors.UniqueViolation as exc:  # another agency's device (invisible)
        raise InvalidRequest(f"device {uid!r} is already registered") from exc
    row = await cur.fetchone()
    assert row is not None
    return await get_device(conn, int(row[0]))


async def get_device(conn: psycopg.AsyncConnection, device_id: int) -> dict[str, Any]:
    rows = await _fetch(conn, _DEVICES + "WHERE d.id = %s", (device_id,))
    if not rows:
        raise NotFound(f"no device {device_id}")
    return rows[0]


async def set_device_token(
    conn: psycopg.AsyncConnection, device_id: int, token_hash: str
) -> dict[str, Any]:
    """Replace a device's ingest token (the old one stops working at once)."""
    cur = await conn.execute(
        "UPDATE devices SET token_hash = %s WHERE id = %s RETURNING id", (token_hash, device_id)
    )
    if await cur.fetchone() is None:
        raise NotFound(f"no device {device_id}")
    return await get_device(conn, device_id)
