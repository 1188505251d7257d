"""Mount the REST resources under /api/v1."""

from __future__ import annotations

from fastapi import FastAPI

from api.rest import analysis, incidents, tracks, zones


def install(app: FastAPI) -> None:
    for module in (tracks, incidents, zones, analysis):
        app.include_router(module.router, prefix="/api/v1")
