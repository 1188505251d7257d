"""The append-only audit log: one row per read of tracks/positions and per change.

The application role may only INSERT here (no SELECT, UPDATE or DELETE grant), and a trigger
refuses UPDATE, DELETE and TRUNCATE for every role, the owner included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geomon.store.storable import storable, text


@dataclass(slots=True)
class AuditEntry:
    method: str
    route: str
    path: str
    status: int
    user_id: int | None = None
    username: str | None = None
    device_id: int | None = None
    agency_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    client: str | None = None
    duration_ms: float | None = None


_INSERT = (
    "INSERT INTO audit_log (user_id, username, device_id, agency_id, method, route, path, "
    "params, status, client, duration_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _opt(value: str | None) -> str | None:
    return None if value is None else text(value)


def _values(e: AuditEntry) -> tuple[Any, ...]:
    # whatever the request carried (a %00, a lone surrogate, NaN) must not fail the insert
    return (
        e.user_id,
        _opt(e.username),
        e.device_id,
        e.agency_id,
        text(e.method),
        text(e.route),
        text(e.path),
        Jsonb(storable(e.params)),
        e.status,
        _opt(e.client),
        e.duration_ms,
    )


_ROW = "(" + ", ".join(["%s"] * 11) + ")"


async def write_audit_batch(conn: psycopg.AsyncConnection, entries: list[AuditEntry]) -> None:
    """Insert audit rows in one statement (the caller commits them together: group commit).
    No RETURNING: the application role cannot read the log."""
    if not entries:
        return
    head = _INSERT.partition(" VALUES ")[0]
    await conn.execute(
        head + " VALUES " + ", ".join([_ROW] * len(entries)),
        [v for e in entries for v in _values(e)],
    )


def audit_rows(conn: psycopg.Connection, *, since_id: int = 0) -> list[dict[str, Any]]:
    """Audit rows after ``since_id`` (owner connections only: reviews and tests)."""
    cur = conn.execute(
        "SELECT id, at, user_id, username, device_id, agency_id, method, route, path, params, "
        "status, client, duration_ms FROM audit_log WHERE id > %s ORDER BY id",
        (since_id,),
    )
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


async def commit_with_audit(conn: psycopg.AsyncConnection, entry: AuditEntry) -> None:
    """Insert ``entry`` in the connection's open (read) transaction and COMMIT it, in one round
    trip (simple protocol, values bound client-side). Raises when either fails: the caller
    then refuses the read."""
    await psycopg.AsyncClientCursor(conn).execute(_INSERT + "; COMMIT", _values(entry))
