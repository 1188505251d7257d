"""Login checks with lockout, bearer-token and session-cookie lookups (async, for the API)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import psycopg

from geomon.credentials import verify_password
from geomon.store.users import _USER_COLS, _USER_FROM, LoginResult, TokenOwner, UserRecord


async def check_login(
    conn: psycopg.AsyncConnection,
    name: str,
    password: str,
    *,
    max_failures: int,
    lockout: timedelta,
) -> LoginResult:
    """Verify a password, counting failures; ``max_failures`` in a row lock the account.

    The row is locked (FOR UPDATE) so concurrent guesses cannot slip past the counter. A locked
    or disabled account is refused even with the right password.
    """
    async with conn.transaction():
        cur = await conn.execute(
            f"SELECT {_USER_COLS}, u.password_hash, u.locked_until > now() "
            f"FROM {_USER_FROM} WHERE u.name = %s FOR UPDATE OF u",
            (name,),
        )
        row = await cur.fetchone()
        # argon2 takes ~0.1-0.5 s: keep it off the event loop.
        ok = await asyncio.to_thread(verify_password, row[8] if row else None, password)
        if row is None:
            return LoginResult(None, "bad_credentials")
        user = UserRecord(*row[:8])
        if row[9]:
            return LoginResult(None, "locked")
        if user.disabled:
            return LoginResult(None, "disabled")
        if ok:
            await conn.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = %s", (user.id,)
            )
            return LoginResult(user, "ok")
        await conn.execute(
            "UPDATE users SET failed_logins = failed_logins + 1, locked_until = CASE "
            "WHEN failed_logins + 1 >= %s THEN now() + %s ELSE locked_until END WHERE id = %s",
            (max_failures, lockout, user.id),
        )
        return LoginResult(None, "bad_credentials")


async def open_session(
    conn: psycopg.AsyncConnection, user_id: int, digest: str, ttl: timedelta
) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (%s, %s, now() + %s)",
        (digest, user_id, ttl),
    )


async def close_session(conn: psycopg.AsyncConnection, digest: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE token_hash = %s", (digest,))


# last_used_at/last_seen_at are refreshed at most once a minute: a busy client must not turn
# every read into a write on the same row.
_TOUCH_EVERY = "interval '60 seconds'"
_LIVE_USER = "NOT u.disabled AND (u.locked_until IS NULL OR u.locked_until <= now())"


async def session_user(conn: psycopg.AsyncConnection, digest: str) -> UserRecord | None:
    """The user of a live session (not expired, user enabled and not locked)."""
    cur = await conn.execute(
        "WITH s AS (SELECT id, user_id, last_seen_at FROM sessions WHERE token_hash = %s "
        "AND expires_at > now()), touch AS (UPDATE sessions x SET last_seen_at = now() FROM s "
        "WHERE x.id = s.id AND (s.last_seen_at IS NULL OR s.last_seen_at < now() - "
        f"{_TOUCH_EVERY})) SELECT {_USER_COLS} FROM s JOIN users u ON u.id = s.user_id "
        f"LEFT JOIN agencies a ON a.id = u.agency_id WHERE {_LIVE_USER}",
        (digest,),
    )
    row = await cur.fetchone()
    return UserRecord(*row) if row else None


async def token_owner(conn: psycopg.AsyncConnection, digest: str) -> TokenOwner | None:
    """Who holds a bearer token: None when unknown, expired, revoked or its user disabled."""
    cur = await conn.execute(
        "WITH t AS (SELECT id, user_id, device_id, last_used_at FROM api_tokens "
        "WHERE token_hash = %s AND expires_at > now() AND revoked_at IS NULL), "
        "touch AS (UPDATE api_tokens x SET last_used_at = now() FROM t WHERE x.id = t.id "
        f"AND (t.last_used_at IS NULL OR t.last_used_at < now() - {_TOUCH_EVERY})) "
        f"SELECT t.device_id, u.id IS NOT NULL AND {_LIVE_USER}, {_USER_COLS} FROM t "
        "LEFT JOIN users u ON u.id = t.user_id LEFT JOIN agencies a ON a.id = u.agency_id",
        (digest,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    if row[0] is not None:
        return TokenOwner(None, int(row[0]))
    return TokenOwner(UserRecord(*row[2:]), None) if row[1] else None


async def visible_agencies(
    conn: psycopg.AsyncConnection, agency_id: int | None
) -> dict[str, frozenset[int]]:
    """Scope → agencies that share it with ``agency_id`` (the database enforces the same)."""
    if agency_id is None:
        return {}
    cur = await conn.execute(
        "SELECT scope, array_agg(from_agency_id) FROM agency_shares WHERE to_agency_id = %s "
        "GROUP BY scope",
        (agency_id,),
    )
    return {scope: frozenset(ids) for scope, ids in await cur.fetchall()}


async def change_password(conn: psycopg.AsyncConnection, user_id: int, password_hash: str) -> None:
    """Set a new password hash; other sessions of the user end (they may be an attacker's)."""
    await conn.execute(
        "UPDATE users SET password_hash = %s, must_change_password = false WHERE id = %s",
        (password_hash, user_id),
    )
    await conn.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))


_SET_REQUEST_CONTEXT = (
    "SELECT set_config('geomon.system', 'off', true), "
    "set_config('geomon.agency_id', %s, true), set_config('geomon.role', %s, true), "
    "set_config('geomon.user', %s, true), set_config('statement_timeout', %s, true)"
)


async def set_request_context(
    conn: psycopg.AsyncConnection,
    *,
    agency_id: str,
    role: str,
    user: str,
    statement_timeout_ms: int,
) -> None:
    """The row-level-security context of one API transaction (empty strings: no agency)."""
    await conn.execute(_SET_REQUEST_CONTEXT, (agency_id, role, user, str(statement_timeout_ms)))


async def begin_request(
    conn: psycopg.AsyncConnection,
    *,
    agency_id: str,
    role: str,
    user: str,
    statement_timeout_ms: int,
    then: str = "",
    then_params: tuple[Any, ...] = (),
) -> list[tuple[Any, ...]]:
    """BEGIN and :func:`set_request_context` in ONE round trip (was two: psycopg sends its
    implicit BEGIN on its own), plus the route's first query ``then`` when given (its rows are
    returned). The connection must be in autocommit mode so psycopg adds no BEGIN of its own;
    the values are bound client-side as quoted literals (the simple query protocol is the only
    one that takes several statements). The caller commits or rolls back."""
    cur = psycopg.AsyncClientCursor(conn)
    await cur.execute(
        "BEGIN; " + _SET_REQUEST_CONTEXT + (f"; {then}" if then else ""),
        (agency_id, role, user, str(statement_timeout_ms), *then_params),
    )
    if not then:
        return []
    cur.nextset()  # BEGIN's result, then set_config's, then ``then``'s
    cur.nextset()
    return await cur.fetchall()
