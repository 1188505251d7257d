"""Shared FastAPI dependencies: the pool connection and the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
from fastapi import Request

from geomon.errors import DatabaseUnavailable
from geomon.settings import Settings


async def connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    pool = request.app.state.pool
    try:
        async with pool.connection(timeout=5) as conn:
            yield conn
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"database unavailable: {exc}") from exc


def app_settings(request: Request) -> Settings:
    return request.app.state.settings
