"""``405 Method Not Allowed`` with an ``Allow`` header that lists every method of the path.

Starlette answers 405 from the first route whose path matched and names only that route's
methods, so a path served by two routes (``GET`` and ``POST /api/v1/zones``) told a client
``Allow: GET``. RFC 9110 (section 15.5.6) wants the resource's full set; this handler collects
it from every route whose path matches.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path


def route_table(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each route's compiled path and methods (FastAPI 0.16x nests included routers, so the
    flat list comes from :func:`fastapi.routing.iter_route_contexts`)."""
    table = []
    for ctx in iter_route_contexts(app.routes):
        if ctx.path and ctx.methods:
            table.append((compile_path(ctx.path)[0], frozenset(ctx.methods)))
    return table


def allowed_methods(table: list[tuple[re.Pattern[str], frozenset[str]]], path: str) -> list[str]:
    """Every method some route serves at ``path`` (HEAD wherever GET is)."""
    methods: set[str] = set()
    for regex, route_methods in table:
        if regex.match(path):
            methods |= route_methods
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    table: list[tuple[re.Pattern[str], frozenset[str]]] = []

    async def _method_not_allowed(request: Request, exc: Exception) -> Response:
        if not table:  # built on the first 405, when every router is included
            table.extend(route_table(app))
        allow = allowed_methods(table, request.url.path)
        return JSONResponse(
            {"detail": f"method {request.method} is not allowed here; allowed: {', '.join(allow)}"},
            status_code=405,
            headers={"Allow": ", ".join(allow)},
        )

    app.add_exception_handler(405, _method_not_allowed)
