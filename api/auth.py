"""Who is calling: bearer tokens, Basic (user name + API token), session cookies, roles, and
the default-deny gate.

Every route of the app requires an authenticated user unless it is in :data:`PUBLIC_ROUTES`
(the reviewed list) or under a :data:`PUBLIC_MOUNTS` prefix (static assets). The gate is an
app-level dependency installed before any router, so a route added later is protected without
anyone remembering to protect it; tests/api/test_default_deny.py enumerates ``app.routes`` and
fails on any unlisted route that answers without credentials.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from api.state import app_state
from geomon.credentials import DEVICE_TOKEN_PREFIX, token_digest
from geomon.errors import AuthError, Forbidden
from geomon.settings import Settings
from geomon.store.db import make_async_pool
from geomon.store.sessions import session_user, token_owner, visible_agencies
from geomon.store.users import UserRecord

log = logging.getLogger(__name__)

SESSION_COOKIE = "geomon_session"
ROLE_RANK = {"viewer": 1, "analyst": 2, "admin": 3}

# The reviewed list of routes anyone may call: (method, path template).
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/login"),
        ("POST", "/auth/login"),
        ("POST", "/auth/logout"),  # only ends the session named by the caller's own cookie
    }
)
# Static mounts (no data: the npm packages of the map and our own JS/CSS).
PUBLIC_MOUNTS: tuple[str, ...] = ("/static/vendor/", "/static/app/")
# How long an authenticated principal is reused in-process without asking the database again
# (a round trip per request on the hot paths). This is the staleness bound: a token revoked
# or expired, a user disabled, or a share changed elsewhere (another worker, the CLI) is
# honoured within this many seconds. Any change request (POST/PUT/PATCH/DELETE) handled by
# this process clears the whole cache when it ends (logout, password change, admin edits).
PRINCIPAL_TTL_S = 5.0
_PRINCIPAL_CACHE_MAX = 10_000
# Routes a user whose one-time password must be changed may still call.
PASSWORD_CHANGE_ROUTES: frozenset[str] = frozenset(
    {"/auth/password", "/auth/logout", "/login", "/auth/me"}
)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user and what their agency may see (the database enforces the same)."""

    user: str
    user_id: int
    role: str
    agency_id: int | None
    visible_agency_ids: frozenset[int]
    shares: dict[str, frozenset[int]] = field(default_factory=dict)
    via: str = "token"  # token | basic | session
    must_change_password: bool = False

    def visible_for(self, scope: str) -> frozenset[int]:
        """Agencies whose rows of ``scope`` (positions, incidents, …) this user may read."""
        own = frozenset() if self.agency_id is None else frozenset({self.agency_id})
        return own | self.shares.get("all", frozenset()) | self.shares.get(scope, frozenset())

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def auth_pool(request: Request):  # type: ignore[no-untyped-def]
    """The pool for agency data and auth lookups: the app-role pool when configured."""
    state = app_state(request)
    return state.app_pool or state.pool


DEVICE_TOKEN_REFUSED = "device tokens may only be used for ingest"
BEARER_CHALLENGE = 'Bearer realm="geomon"'
BASIC_CHALLENGE = 'Basic realm="geomon", charset="UTF-8"'


def challenge(request: Request) -> str:
    """The WWW-Authenticate value of a 401 (RFC 7235: one header, comma-separated challenges).

    Basic is offered to non-browser clients only: a browser (it sends ``Sec-Fetch-Mode`` on
    every request; QGIS, curl and HTTP libraries do not) would answer a Basic challenge to the
    map's background fetches with its native password dialog, and an account password typed
    there is refused anyway (Basic takes API tokens only)."""
    if request.headers.get("sec-fetch-mode"):
        return BEARER_CHALLENGE
    return f"{BEARER_CHALLENGE}, {BASIC_CHALLENGE}"


def basic_credentials(value: str) -> tuple[str, str] | None:
    """``base64(username:token)`` of an ``Authorization: Basic`` header (RFC 7617), or None
    when it is not valid base64, not UTF-8, has no colon or an empty part."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, sep, token = decoded.partition(":")
    if not sep or not username or not token:
        return None
    return username, token


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return "token", value.strip()
        if scheme.lower() == "basic" and value.strip():
            return "basic", value.strip()
        return None
    cookie = request.cookies.get(SESSION_COOKIE)
    return ("session", cookie) if cookie else None


async def _principal_for(request: Request, via: str, secret: str) -> Principal | None:
    if via == "token" and secret.startswith(DEVICE_TOKEN_PREFIX):
        raise Forbidden(DEVICE_TOKEN_REFUSED)
    digest = token_digest(secret)
    async with auth_pool(request).connection(timeout=5) as conn, conn.transaction():
        user: UserRecord | None
        if via == "token":
            owner = await token_owner(conn, digest)
            if owner is not None and owner.user is None:
                raise Forbidden(DEVICE_TOKEN_REFUSED)
            user = owner.user if owner else None
        else:
            user = await session_user(conn, digest)
        if user is None:
            return None
        shares = await visible_agencies(conn, user.agency_id)
    own = frozenset() if user.agency_id is None else frozenset({user.agency_id})
    visible = own.union(*shares.values()) if shares else own
    return Principal(
        user.name,
        user.id,
        user.role,
        user.agency_id,
        visible,
        shares,
        via,
        user.must_change_password,
    )


def _principal_cache(request: Request) -> dict[tuple[str, str], tuple[float, Principal]]:
    return app_state(request).principal_cache


def forget_principals(app: object) -> None:
    """Drop every cached principal of ``app`` (after a change that may affect any of them)."""
    app_state(app).principal_cache.clear()


async def _cached_principal_for(request: Request, via: str, secret: str) -> Principal | None:
    """:func:`_principal_for`, reusing a positive answer for :data:`PRINCIPAL_TTL_S` seconds
    (keyed by the credential's digest, never the secret itself); failures are not cached."""
    if via == "token" and secret.startswith(DEVICE_TOKEN_PREFIX):
        raise Forbidden(DEVICE_TOKEN_REFUSED)
    cache, key, now = _principal_cache(request), (via, token_digest(secret)), time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = await _principal_for(request, via, secret)
    if principal is None:
        cache.pop(key, None)
        return None
    if len(cache) >= _PRINCIPAL_CACHE_MAX:
        cache.clear()
    cache[key] = (now + PRINCIPAL_TTL_S, principal)
    return principal


async def current_principal(request: Request) -> Principal:
    """The caller (Bearer token, Basic user + token, or geomon_session cookie); 401 (browsers:
    login) otherwise."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    creds = _credentials(request)
    if creds is not None and creds[0] == "basic":
        principal = await _basic_principal(request, creds[1])
    else:
        principal = await _cached_principal_for(request, *creds) if creds else None
    if principal is None:
        # 401 with the challenge; a browser asking for a page goes to the login form
        # (api/errors.py)
        raise AuthError(
            "authentication required" if creds is None else "invalid or expired credentials"
        )
    request.state.principal = principal
    return principal


async def _basic_principal(request: Request, value: str) -> Principal | None:
    """``Authorization: Basic base64(username:token)`` (for clients that can send nothing else,
    e.g. QGIS 3.22): the password must be a live API token of that very user. The account
    password is never accepted here (it is not even hashed: no argon2 work, and so no password
    guessing and no lockout counting over Basic — a wrong token is refused exactly like a wrong
    bearer token). Device tokens are refused (403) as on the bearer path."""
    parsed = basic_credentials(value)
    if parsed is None:
        return None
    username, token = parsed
    request.state.audit_user = username  # a refused attempt's audit row names who was tried
    principal = await _cached_principal_for(request, "token", token)
    if principal is None or principal.user != username:
        if principal is not None:
            log.warning(
                "basic auth refused: a token of %r presented as %r", principal.user, username
            )
        return None
    return dataclasses.replace(principal, via="basic")


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency (use ``Depends(require_role("analyst"))``) returning the principal when its
    role is at least ``role``; 403 otherwise."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(role):
            raise Forbidden(f"needs the {role} role")
        return principal

    return _check


async def audited(request: Request) -> None:
    """Route dependency: audit this read too (changes and track/position reads always are)."""
    request.state.audit = True


def is_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC_ROUTES or path.startswith(PUBLIC_MOUNTS)


async def default_deny(request: Request) -> None:
    """App-wide gate: every route needs a principal unless it is on the reviewed public list."""
    # The concrete path, not a route template: public routes have no path parameters, and a
    # router's own templates lack its include prefix (a /health under /api/v1 stays private).
    path = request.scope["path"]
    if is_public(request.method, path):
        return
    principal = await current_principal(request)
    if principal.must_change_password and path not in PASSWORD_CHANGE_ROUTES:
        raise Forbidden("change the one-time password first (POST /auth/password)")


def install(app: FastAPI, settings: Settings) -> None:
    """Before any router: make the gate a dependency of every route added to ``app`` from now
    on, add the body-limit and audit middleware, and the login/logout routes."""
    from api.middleware import AuditMiddleware, BodyLimitMiddleware
    from api.routes import auth as auth_routes

    app.router.dependencies.insert(0, Depends(default_deny))
    app.add_middleware(AuditMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.limits.max_body_bytes,
        timeout_s=settings.limits.body_timeout_s,
    )
    app.include_router(auth_routes.router)


@contextlib.asynccontextmanager
async def app_pool(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Lifespan part: the pool of the application role (GEOMON_DB__APP_URL) when configured."""
    if not settings.db.app_url:
        app_state(app).app_pool = None
        yield
        return
    pool = make_async_pool(
        settings.db.model_copy(update={"url": settings.db.app_url}), name="geomon-api-app"
    )
    await pool.open(wait=False)
    app_state(app).app_pool = pool
    try:
        yield
    finally:
        await pool.close()
