"""The request layer's dependencies: the ONLY way a route gets a connection or a principal.

Use these ``Annotated`` aliases in route signatures, nothing else:

============== ============================================================================
``Caller``     the authenticated principal (401 otherwise)
``Analyst``    the principal when its role is at least analyst (403 otherwise); ``Admin`` alike
``ReadConn``   a pooled connection in a transaction under the caller's row-level security
``WriteConn``  the same, committed before the response is sent (routes that change data)
``LayerConn``  ``(conn, version)`` for a vector-tile layer: RLS connection + change counters
``BasemapConn`` ``(conn, version)`` for basemap tiles, the same way
``PageConn``   ``(conn, version)`` for an OGC collection, the same way
``Visibility`` a cache key for what the caller may see (role, own agency, shares)
``AppSettings`` the app's :class:`~geomon.settings.Settings`
============== ============================================================================

Every connection runs in a transaction with ``geomon.system = off`` and the caller's agency,
role and statement timeout set LOCAL (docs/security.md): PostgreSQL's forced row-level security
then shows only what the caller's agency owns or is shared, whatever the route's SQL forgets.
Each connection alias depends on :func:`api.auth.current_principal`; there is no variant
without a caller and no fallback to the owner pool, so a route cannot get data without a
principal (tests/api/test_request_layer.py walks every route's dependency tree).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Path, Request
from psycopg.pq import TransactionStatus

from api.auth import CurrentPrincipal, Principal, auth_pool, require_role
from api.state import app_state
from geomon.errors import DatabaseUnavailable, InvalidRequest, Overloaded
from geomon.settings import Settings
from geomon.store import basemap as basemap_store
from geomon.store import features as feature_store
from geomon.store import tiles as tile_store
from geomon.store.sessions import begin_request

__all__ = [
    "Admin",
    "AppSettings",
    "Analyst",
    "Caller",
    "BasemapConn",
    "LayerConn",
    "PageConn",
    "Principal",
    "ReadConn",
    "Versioned",
    "Visibility",
    "WriteConn",
    "agency_of",
    "scoped_connection",
    "scoped_transaction",
]

Caller = CurrentPrincipal
Analyst = Annotated[Principal, Depends(require_role("analyst"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


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
    principal: Principal,
    first: str = "",
    first_params: tuple[Any, ...] = (),
) -> AsyncIterator[tuple[psycopg.AsyncConnection, list[Any]]]:
    """A pooled connection in a transaction under ``principal``'s row-level security, running
    ``first`` (SQL from geomon.store) in the same round trip as BEGIN and the RLS context:
    ``async with scoped_transaction(…) as (conn, rows)``. A principal is required: there is no
    "anonymous" context to fall back to."""
    if not isinstance(principal, Principal):  # a mis-wired dependency must fail loudly
        raise TypeError(f"scoped_transaction needs a Principal, got {type(principal).__name__}")
    settings = app_state(request).settings
    timeout_ms = settings.db.statement_timeout_ms
    agency = "" if principal.agency_id is None else str(principal.agency_id)
    try:
        async with auth_pool(request).connection(timeout=5) as conn, _request_transaction(conn):
            rows = await begin_request(
                conn,
                agency_id=agency,
                role=principal.role,
                user=principal.user,
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
    request: Request, principal: Principal
) -> AsyncIterator[psycopg.AsyncConnection]:
    """``async with scoped_connection(request, principal) as conn``: the transaction of
    ``ReadConn`` for code outside a dependency (streams take several short ones)."""
    async with scoped_transaction(request, principal) as (conn, _):
        yield conn


async def _connection(
    request: Request, principal: Caller
) -> AsyncIterator[psycopg.AsyncConnection]:
    async with scoped_connection(request, principal) as conn:
        yield conn


ReadConn = Annotated[psycopg.AsyncConnection, Depends(_connection)]
# Commits before the response is sent (FastAPI's default "request" scope would commit after it).
WriteConn = Annotated[psycopg.AsyncConnection, Depends(_connection, scope="function")]

Versioned = tuple[psycopg.AsyncConnection, str]
LayerId = Annotated[
    str,
    Path(
        description="Layer id: positions-latest, tracks, positions, "
        "incidents, zones, borders, places, events, hotspots-RUN or forecasts-RUN."
    ),
]
CollectionId = Annotated[str, Path(description="Collection id, as listed by /ogc/collections.")]


@contextlib.asynccontextmanager
async def _versioned(
    request: Request, principal: Principal, tables: tuple[str, ...]
) -> AsyncIterator[Versioned]:
    """The RLS connection plus the tables' change counters, read in the same round trip as
    BEGIN (a cached tile or page costs that round trip and the COMMIT, nothing else)."""
    first = tile_store.LAYER_VERSION_SQL if tables else ""
    params = (list(tables),) if tables else ()
    async with scoped_transaction(request, principal, first, params) as (conn, rows):
        request.state.audit_conn = conn  # api/middleware.py: audit row + COMMIT here
        yield conn, (tile_store.version_text(rows) if tables else "")


async def _layer_connection(
    request: Request, principal: Caller, layer: LayerId
) -> AsyncIterator[Versioned]:
    async with _versioned(request, principal, tuple(tile_store.layer_tables(layer))) as cv:
        yield cv


async def _page_connection(
    request: Request,
    principal: Caller,
    collectionId: CollectionId,
) -> AsyncIterator[Versioned]:
    tables = tuple(feature_store.collection_tables(collectionId))
    async with _versioned(request, principal, tables) as cv:
        yield cv


async def _basemap_connection(request: Request, principal: Caller) -> AsyncIterator[Versioned]:
    async with _versioned(request, principal, basemap_store.TILE_TABLES) as cv:
        yield cv


LayerConn = Annotated[Versioned, Depends(_layer_connection)]
BasemapConn = Annotated[Versioned, Depends(_basemap_connection)]
PageConn = Annotated[Versioned, Depends(_page_connection)]


async def visibility_key(principal: Caller) -> str:
    """A cache key for what the caller may see: the RLS context (role and own agency) and the
    shares per scope. Not just the union of visible agencies: A seeing B's positions and B
    seeing A's incidents have the same union but must not share cached tiles."""
    scoped = ";".join(
        f"{scope}={','.join(map(str, sorted(ids)))}"
        for scope, ids in sorted(principal.shares.items())
    )
    return f"{principal.role}:{principal.agency_id}:{scoped}"


Visibility = Annotated[str, Depends(visibility_key)]


async def _app_settings(request: Request) -> Settings:
    return app_state(request).settings


AppSettings = Annotated[Settings, Depends(_app_settings)]


def agency_of(principal: Principal) -> int:
    """The caller's agency, for rows it creates (422 for a user without one)."""
    if principal.agency_id is None:
        raise InvalidRequest("your user has no agency; create rows as an agency's analyst")
    return principal.agency_id
