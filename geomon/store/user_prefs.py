"""A person's console preferences: language and time zone (users.locale, users.time_zone)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class UserPrefs:
    locale: str | None
    time_zone: str | None
    agency_country: str | None


async def user_prefs(conn: psycopg.AsyncConnection, user_id: int) -> UserPrefs:
    cur = await conn.execute(
        "SELECT u.locale, u.time_zone, a.country FROM users u "
        "LEFT JOIN agencies a ON a.id = u.agency_id WHERE u.id = %s",
        (user_id,),
    )
    row = await cur.fetchone()
    return UserPrefs(*row) if row else UserPrefs(None, None, None)


async def set_user_prefs(
    conn: psycopg.AsyncConnection,
    user_id: int,
    *,
    locale: str | None = None,
    time_zone: str | None = None,
) -> None:
    """Set what is given (None leaves a value as it is)."""
    await conn.execute(
        "UPDATE users SET locale = COALESCE(%s, locale), time_zone = COALESCE(%s, time_zone) "
        "WHERE id = %s",
        (locale, time_zone, user_id),
    )
