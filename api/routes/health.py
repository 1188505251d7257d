"""``GET /health``: liveness and database reachability (public)."""

from __future__ import annotations

import asyncio

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.state import app_state
from geomon.store.db import postgis_version

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service and database health")
async def health(request: Request) -> JSONResponse:
    pool = app_state(request).pool
    try:
        async with asyncio.timeout(3), pool.connection(timeout=3) as conn:
            version = await postgis_version(conn)
        return JSONResponse({"status": "ok", "database": "reachable", "postgis": version})
    except (psycopg.Error, TimeoutError, OSError) as exc:
        return JSONResponse(
            {"status": "degraded", "database": "unreachable", "detail": type(exc).__name__},
            status_code=503,
        )
