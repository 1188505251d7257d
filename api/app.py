"""``create_app(settings)``: the FastAPI application. Its lifespan owns the connection pool."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api import allow, auth, errors, openapi_doc
from api.audit_writer import AuditWriter
from api.i18n import LocaleMiddleware
from api.routes import (
    basemap,
    cases,
    console,
    corridors,
    coverage,
    devices,
    entities,
    events,
    forecasts,
    health,
    hotspots,
    incidents,
    link_analysis,
    links,
    live,
    map_data,
    map_page,
    metrics,
    near_repeat,
    ogc,
    preferences,
    reports,
    static,
    surfaces,
    tiles,
    vehicles,
    watchlists,
    zones,
)
from api.state import AppState
from geomon.settings import Settings
from geomon.store.db import make_async_pool

log = logging.getLogger(__name__)


def app_factory() -> FastAPI:
    """The app for the environment's settings: what each uvicorn worker process builds
    (``geomon serve --workers N``; uvicorn needs an import string to start workers)."""
    return create_app(Settings())


def create_app(settings: Settings) -> FastAPI:
    """Build the app for ``settings``; nothing connects until the lifespan starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = make_async_pool(settings.db, name="geomon-api")
        await pool.open(wait=False)
        state.pool = pool
        # the app role's URL when configured: it may INSERT audit rows and nothing else there
        state.audit_writer = AuditWriter(settings.db.app_url or settings.db.url)
        try:
            async with auth.app_pool(app, settings):
                yield
        finally:
            await state.audit_writer.close()
            await pool.close()

    app = FastAPI(
        title="geomon",
        version="0.1.0",
        summary="Border monitoring and mobile-team tracking on PostGIS",
        lifespan=lifespan,
        openapi_url=None,  # served behind login by api/routes/auth.py
        docs_url=None,
        redoc_url=None,
    )
    state = app.state = AppState(settings)  # everything kept between requests (api/state.py)
    errors.install(app)
    allow.install(app)
    app.add_middleware(LocaleMiddleware)  # request_locale() for HTML pages
    auth.install(app, settings)  # default deny: must precede every router
    app.include_router(health.router)
    app.include_router(metrics.router)
    for resource in (devices, incidents, zones):
        app.include_router(resource.router, prefix="/api/v1")
    app.include_router(map_data.router, prefix="/api/v1")
    app.include_router(map_page.router)
    ogc.install(app)
    basemap.install(app)
    tiles.install(app)
    surfaces.install(app)
    events.install(app)
    console.install(app)  # team list, event actions, admin pages (issue 20)
    coverage.install(app)
    preferences.install(app)
    corridors.install(app)
    cases.install(app)
    entities.install(app)
    links.install(app)
    link_analysis.install(app)
    live.install(app, settings.db.url)
    hotspots.install(app)
    near_repeat.install(app)
    watchlists.install(app)
    vehicles.install(app)
    forecasts.install(app)
    reports.install(app)
    openapi_doc.install(app, auth.PUBLIC_ROUTES)
    static.mount(app, settings)
    static.compress(app)  # outermost: compresses what the audit and limits let through
    return app
