"""Domain errors → HTTP statuses, in one table. Clients never see stack traces.

Routes and services raise :mod:`geomon.errors` only; :data:`STATUS_BY_ERROR` says what each
answers. A router whose protocol wants other statuses (OGC API and tile servers answer a
malformed parameter with 400, not 422) declares them with
``APIRouter(route_class=error_route({InvalidRequest: 400}, validation_status=400))``: the
overrides apply to that router's routes only, whatever their paths.

Every response carries ``X-Request-ID`` (the client's own when it sent a sane one, else a
fresh one); a 5xx is logged with its traceback and that id, and its JSON body repeats it, so
a report from a client finds the log line.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import Any
from urllib.parse import quote

import psycopg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geomon import errors

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[errors.GeomonError], int], ...] = (
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InvalidRequest, 422),
    (errors.SpatialError, 422),
    (errors.DecodeError, 400),
    (errors.Forbidden, 403),
    (errors.AuthError, 401),
    (errors.Overloaded, 503),
    (errors.DatabaseUnavailable, 503),
    (errors.StoreError, 500),
    (errors.ConfigError, 500),
)
Overrides = Mapping[type[errors.GeomonError], int]

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def status_for(exc: errors.GeomonError, overrides: Overrides | None = None) -> int:
    for cls, status in (*(overrides or {}).items(), *STATUS_BY_ERROR):
        if isinstance(exc, cls):
            return status
    return 500


def request_id(request: Request) -> str:
    """This request's id (set by :class:`RequestIdMiddleware`; a fresh one outside it)."""
    rid = request.scope.get("state", {}).get("request_id")
    return rid if isinstance(rid, str) else uuid.uuid4().hex


def _login_redirect(request: Request) -> Response | None:
    """Browsers asking for a page are sent to the login form instead of a bare 401."""
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return None


def error_response(request: Request, exc: errors.GeomonError, status: int) -> Response:
    """The answer to ``exc`` at ``status``: JSON ``{"detail": ...}`` plus what the status
    needs (a challenge on 401, Retry-After on overload, the request id on 5xx)."""
    from api.auth import challenge  # api.auth raises these errors; import it late

    headers: dict[str, str] = {}
    if status == 401:
        redirect = _login_redirect(request)
        if redirect is not None:
            return redirect
        headers["WWW-Authenticate"] = challenge(request)
    if isinstance(exc, errors.Overloaded):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    if status < 500:
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)
    rid = request_id(request)
    log.error(
        "%s %s failed (%d, request %s): %s",
        request.method,
        request.url.path,
        status,
        rid,
        exc,
        exc_info=exc,
    )
    detail = str(exc) if status == 503 else "internal error"
    return JSONResponse({"detail": detail, "request_id": rid}, status_code=status, headers=headers)


def _validation_response(exc: RequestValidationError, status: int) -> Response:
    msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return JSONResponse({"detail": msgs}, status_code=status)


_OVERRIDES = "_geomon_statuses"  # set on an exception by its router's route class
_VALIDATION = "_geomon_validation_status"


def error_route(overrides: Overrides, validation_status: int | None = None) -> type[APIRoute]:
    """A route class for a router whose statuses differ from the table: ``overrides`` go
    before :data:`STATUS_BY_ERROR`; ``validation_status`` replaces FastAPI's 422 for a
    parameter that fails validation. The exception is only marked and raised on, so the
    route's dependencies (its transaction) still see it and roll back."""
    table = dict(overrides)

    class ErrorTableRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def run(request: Request) -> Response:
                try:
                    return await handler(request)
                except RequestValidationError as exc:
                    if validation_status is not None:
                        setattr(exc, _VALIDATION, validation_status)
                    raise
                except errors.GeomonError as exc:
                    setattr(exc, _OVERRIDES, table)
                    raise

            return run

    return ErrorTableRoute


class RequestIdMiddleware:
    """``X-Request-ID`` on every response; an exception nothing else handled becomes a 500
    whose body carries the id, logged once with its traceback and the same id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        text = given.decode("latin-1")
        rid = text if _SANE_ID.fullmatch(text) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *(message.get("headers") or []),
                    (b"x-request-id", rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:  # part of a body is out: nothing sane left to send
                raise
            log.exception(
                "%s %s failed (500, request %s)", scope.get("method"), scope.get("path"), rid
            )
            body = JSONResponse({"detail": "internal error", "request_id": rid}, status_code=500)
            await body(scope, receive, send_with_id)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.GeomonError)
    async def _geomon_error(request: Request, exc: errors.GeomonError) -> Response:
        return error_response(request, exc, status_for(exc, getattr(exc, _OVERRIDES, None)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        status = getattr(exc, _VALIDATION, None)
        if status is not None:
            return _validation_response(exc, status)
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(psycopg.DataError)
    async def _data_error(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # SQLSTATE class 22: the server refused a value the request carried (an id past the
        # column's range, a NUL in a text parameter): the client's error, said as such
        primary = exc.diag.message_primary or str(exc).splitlines()[0]
        log.warning(
            "%s %s: value refused by the database: %s", request.method, request.url.path, primary
        )
        return JSONResponse({"detail": f"invalid parameter value: {primary}"}, status_code=400)

    app.add_middleware(RequestIdMiddleware)
