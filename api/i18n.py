"""Which language and time zone a request's page is shown in.

Language: ``?lang=`` on the URL (a one-off, e.g. the login page's switch), else the user's
setting (users.locale), else ``Accept-Language``, else English. Time zone: the user's setting,
else their agency's state's zone (geomon/i18n/zones.py), else UTC. The API itself stays UTC.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import Principal, auth_pool
from geomon.i18n import DEFAULT_LOCALE, negotiate
from geomon.i18n.zones import time_zone_for
from geomon.store.user_prefs import UserPrefs, user_prefs


@dataclass(frozen=True)
class PageLocale:
    locale: str
    time_zone: str


async def prefs_of(request: Request) -> UserPrefs | None:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        return None
    async with auth_pool(request).connection(timeout=5) as conn:
        return await user_prefs(conn, principal.user_id)


async def page_locale(request: Request) -> PageLocale:
    prefs = await prefs_of(request)
    locale = negotiate(
        [request.query_params.get("lang"), prefs.locale if prefs else None],
        request.headers.get("accept-language"),
    )
    zone = time_zone_for(
        prefs.time_zone if prefs else None, prefs.agency_country if prefs else None
    )
    return PageLocale(locale, zone)


# The language of the request being served, from ``?lang=`` / Accept-Language only (no database
# read): for pages rendered deep inside a route without the request at hand (OGC HTML pages).
_request_locale: ContextVar[str] = ContextVar("geomon_request_locale", default=DEFAULT_LOCALE)


def request_locale() -> str:
    return _request_locale.get()


class LocaleMiddleware:
    """Pure ASGI middleware setting :func:`request_locale` for each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        query = QueryParams(scope.get("query_string", b""))
        token = _request_locale.set(negotiate([query.get("lang")], headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            _request_locale.reset(token)
