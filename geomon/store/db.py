"""Connections to PostGIS (psycopg 3) and the mapping of connection failures to our errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import psycopg
from psycopg_pool import AsyncConnectionPool

from geomon.errors import ConfigError, DatabaseUnavailable
from geomon.settings import DbSettings


def require_url(db: DbSettings) -> str:
    if not db.url:
        raise ConfigError("GEOMON_DB__URL is not set (run scripts/dev-db to get a local PostGIS)")
    return db.url


@contextlib.contextmanager
def connect(url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A short-lived synchronous connection (CLI commands, loaders)."""
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    with conn:
        yield conn


def make_async_pool(db: DbSettings, *, name: str = "geomon") -> AsyncConnectionPool:
    """An (unopened) async pool; the owner opens it in its lifespan and closes it after."""
    return AsyncConnectionPool(
        require_url(db),
        min_size=db.pool_min,
        max_size=db.pool_max,
        name=name,
        open=False,
        # JIT off: row-level-security predicates and PostGIS functions carry high planner
        # costs, so short API queries crossed jit_above_cost and spent far longer compiling
        # than running (docs/performance.md).
        kwargs={"connect_timeout": 10, "application_name": name, "options": "-c jit=off"},
    )


@contextlib.asynccontextmanager
async def async_connect(url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    try:
        conn = await psycopg.AsyncConnection.connect(url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    async with conn:
        yield conn


def ping(url: str) -> dict[str, str]:
    """Database reachability and versions, for /health."""
    with connect(url) as conn:
        row = conn.execute("SELECT version(), postgis_full_version()").fetchone()
    assert row is not None
    return {"postgres": row[0].split(",")[0], "postgis": row[1].split(" ")[1].strip('"')}


async def postgis_version(conn: psycopg.AsyncConnection) -> str:
    """PostGIS library version (a cheap round trip that proves the database answers)."""
    cur = await conn.execute("SELECT postgis_lib_version()")
    row = await cur.fetchone()
    assert row is not None
    return str(row[0])
