"""Domain errors → HTTP statuses, in one table. Clients never see stack traces."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from geomon import errors

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[errors.GeomonError], int], ...] = (
    (errors.NotFound, 404),
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


def status_for(exc: errors.GeomonError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.GeomonError)
    async def _geomon_error(request: Request, exc: errors.GeomonError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        headers = {}
        if isinstance(exc, errors.Overloaded):
            headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        detail = str(exc) if status < 500 or status == 503 else "internal error"
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(psycopg.DataError)
    async def _data_error(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # SQLSTATE class 22: the server refused a value the request carried (an id past the
        # column's range, a NUL in a text parameter): the client's error, said as such
        primary = exc.diag.message_primary or str(exc).splitlines()[0]
        log.warning(
            "%s %s: value refused by the database: %s", request.method, request.url.path, primary
        )
        return JSONResponse({"detail": f"invalid parameter value: {primary}"}, status_code=400)
