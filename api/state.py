"""Everything the application keeps between requests, in one typed object: ``app.state``.

``create_app`` makes it (with the settings); the lifespan opens the pools and the audit
writer; each router's ``install`` adds what it owns (tile caches, the live hub). Code reads
it through :func:`app_state`, which mypy checks, instead of ``request.app.state.<name>``
(``Any``) or ``getattr`` with a default. A new helper object is a new attribute here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.datastructures import State
from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from api.audit_writer import AuditWriter
    from api.auth import Principal
    from api.jobs import Jobs
    from api.live import LiveHub
    from geomon.settings import Settings
    from tiles.cache import TileCache


class AppState(State):
    """``app.state`` of the geomon app (a Starlette ``State``: tests may still set fields)."""

    settings: Settings
    pool: AsyncConnectionPool  # the owner role's pool (lifespan; health, jobs)
    # the application role's pool (GEOMON_DB__APP_URL), None when not configured: agency
    # data then goes through ``pool`` (api.auth.auth_pool picks)
    app_pool: AsyncConnectionPool | None
    audit_writer: AuditWriter  # lifespan
    tile_cache: TileCache  # api.routes.tiles.install: vector and surface tiles
    ogc_page_cache: TileCache  # api.routes.ogc.install
    live_hub: LiveHub  # api.routes.live.install
    principal_cache: dict[tuple[str, str], tuple[float, Principal]]  # credential digest
    map_page_cache: dict[tuple[object, ...], tuple[float, str]]  # rendered /map templates
    jobs: Jobs  # corridor and surface jobs of this process
    openapi_patched: bool

    def __init__(self, settings: Settings) -> None:
        from api.jobs import Jobs

        super().__init__()
        self.settings = settings
        self.app_pool = None
        self.principal_cache = {}
        self.map_page_cache = {}
        self.jobs = Jobs()
        self.openapi_patched = False


def app_state(conn: HTTPConnection | Any) -> AppState:
    """The app's state from a request or websocket (or the app itself)."""
    app = conn.app if isinstance(conn, HTTPConnection) else conn
    state = app.state
    if not isinstance(state, AppState):
        raise TypeError(f"app.state is a {type(state).__name__}, not AppState (create_app)")
    return state
