"""Shared FastAPI dependencies: data connections under row-level security, the caller, settings.

Every connection handed to a route runs in a transaction with ``geomon.system = off`` and the
caller's agency, role and statement timeout set LOCAL (docs/security.md): PostgreSQL's forced
row-level security then shows only what the caller's agency owns or is shared, whatever the
route's SQL forgets. Without a caller (public routes) the context is empty and agency-owned
tables look empty.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg.pq import TransactionStatus

from api.auth import CurrentPrincipal, Principal, auth_pool, current_principal, require_role
from geomon.errors import DatabaseUnavailable, Overloaded
from geomon.settings import Settings
from geomon.store.sessions import begin_request

__all__ = [
    "AgencyConnection",
    "CurrentPrincipal",
    "Principal",
    "agency_connection",
    "app_settings",
    "connection",
    "current_principal",
    "require_role",
    "scoped_connection",
    "scoped_transaction",
]


@contextlib.asynccontextmanager
async def _request_transaction(conn: psycopg.AsyncConnection) -> AsyncIterator[None]:
    """The request's own transaction: opened by :func:`begin_request` (autocommit mode, so
    psycopg adds no BEGIN round trip), committed when the body returns, rolled back when it
    raises; the pooled connection goes back in its usual non-autocommit mode."""
    await conn.set_autocommit(True)
    try:
        try:
            yield
        except BaseException:
            if not conn.closed:
                await conn.rollback()
            raise
        await conn.commit()
    finally:
        if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
            await conn.set_autocommit(False)


@contextlib.asynccontextmanager
async def scoped_transaction(
    request: Request,
    principal: Principal | None,
    first: str = "",
    first_params: tuple[Any, ...] = (),
) -> AsyncIterator[tuple[psycopg.AsyncConnection, list[Any]]]:
    """Like :func:`scoped_connection`, and runs ``first`` (SQL from geomon.store) in the same
    round trip as BEGIN and the RLS context: ``async with scoped_transaction(…) as (conn,
    rows)``. Tiles read their layers' change counters this way."""
    timeout_ms = request.app.state.settings.db.statement_timeout_ms
    agency, role, user = (
        ("", "", "")
        if principal is None
        else (
            "" if principal.agency_id is None else str(principal.agency_id),
            principal.role,
            principal.user,
        )
    )
    try:
        async with auth_pool(request).connection(timeout=5) as conn, _request_transaction(conn):
            rows = await begin_request(
                conn,
                agency_id=agency,
                role=role,
                user=user,
                statement_timeout_ms=timeout_ms,
                then=first,
                then_params=first_params,
            )
            yield conn, rows
    except psycopg.errors.QueryCanceled as exc:  # statement_timeout: ask for less, later
        raise Overloaded(
            f"query took longer than {timeout_ms} ms: narrow the bbox, time window or page size",
            retry_after_s=5,
        ) from exc
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"database unavailable: {exc}") from exc


@contextlib.asynccontextmanager
async def scoped_connection(
    request: Request, principal: Principal | None
) -> AsyncIterator[psycopg.AsyncConnection]:
    """``async with scoped_connection(request, principal) as conn``: the same RLS-scoped
    transaction as :func:`agency_connection`, for code outside a dependency (streams)."""
    async with scoped_transaction(request, principal) as (conn, _):
        yield conn


async def agency_connection(
    request: Request, principal: CurrentPrincipal
) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection in a transaction with the caller's row-level-security context.

    Use it for every route that returns or changes agency data. The transaction commits when
    the route returns normally and rolls back when it raises.
    """
    async with scoped_connection(request, principal) as conn:
        yield conn


async def connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """Like :func:`agency_connection` but the caller is optional (it is whoever the default-deny
    gate authenticated, if anyone): never more than the caller may see."""
    principal = getattr(request.state, "principal", None)
    caller = principal if isinstance(principal, Principal) else None
    async with scoped_connection(request, caller) as conn:
        yield conn


# Commits before the response is sent (FastAPI's default "request" scope would commit after
# it): use this for routes that change data, e.g. ``conn: AgencyConnection``.
AgencyConnection = Annotated[psycopg.AsyncConnection, Depends(agency_connection, scope="function")]


async def _scoped(
    request: Request, principal: Principal | None
) -> AsyncIterator[psycopg.AsyncConnection]:
    """Older ``async for`` form of :func:`scoped_connection` (kept for existing callers)."""
    async with scoped_connection(request, principal) as conn:
        yield conn


def app_settings(request: Request) -> Settings:
    return request.app.state.settings
