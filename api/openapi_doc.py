"""Post-processing of the generated OpenAPI document so it says what the app really answers.

- Error bodies are ``{"detail": "message"}`` for our own errors and FastAPI's list for request
  validation: the ``HTTPValidationError.detail`` schema accepts both.
- Every operation outside the public list documents 401 (no or bad credentials) and 403 (role
  or must-change-password); every operation with parameters or a body documents 404 (an id it
  refers to may not exist or be invisible), 422 and 400 (a body that is not JSON at all, a
  value PostgreSQL refuses such as a NUL character), and every write with parameters or a
  body 409 (a name already taken, an event already in the state asked for:
  :class:`geomon.errors.Conflict`).
- The security schemes (docs/security.md): ``Authorization: Bearer <API token>``, HTTP Basic
  with the user name and an API token as the password (never the account password), and the
  ``geomon_session`` cookie; every operation outside the public list requires one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.state import app_state

ERROR_REF = {"$ref": "#/components/schemas/ErrorMessage"}
ERROR_SCHEMA = {
    "title": "ErrorMessage",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string", "description": "What is wrong."}},
}
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`gmu_…`, `geomon tokens create --user NAME`).",
    },
    "basicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "User name and, as the password, an API token of that user "
        "(`gmu_…`) — for clients that cannot send a bearer header "
        "(QGIS 3.22). The account password is refused here, and so "
        "are device tokens.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "geomon_session",
        "description": "Browser session (`POST /auth/login`).",
    },
}
SECURITY: list[dict[str, list[str]]] = [
    {"bearerAuth": []},
    {"basicAuth": []},
    {"sessionCookie": []},
]
_DESCRIPTIONS = {
    "401": "Not authenticated: missing, invalid or expired token (Bearer, or Basic with the "
    "token's user name) or session.",
    "403": "Authenticated, but the role (or a pending password change) does not allow this.",
    "404": "No such resource (or one it refers to), or not visible to the caller's agency.",
    "422": "A parameter or the body is invalid; `detail` says what.",
    "400": "The body could not be parsed (not JSON, or not UTF-8), or a value is one the "
    "database cannot hold (a NUL character, a number past the column's range).",
    "409": "Well-formed, but in conflict with the resource's current state; `detail` says "
    "how (a name already taken, an event already acknowledged).",
}
_WRITES = {"post", "put", "patch", "delete"}


def _error(code: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def patch_document(doc: dict[str, Any], public: set[tuple[str, str]]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorMessage"] = ERROR_SCHEMA
    doc["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    if "HTTPValidationError" in schemas:
        schemas["HTTPValidationError"]["properties"]["detail"] = {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
            ],
            "title": "Detail",
        }
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            public_op = (method.upper(), path) in public
            wanted = [] if public_op else ["401", "403"]
            if not public_op:
                op.setdefault("security", SECURITY)
            if op.get("parameters") or op.get("requestBody"):
                wanted += ["404", "422"]  # a referenced id (path, query or body) may not exist
                wanted.append("400")
                if method in _WRITES:
                    wanted.append("409")
            for code in wanted:
                responses.setdefault(code, _error(code))
    return doc


def install(
    app: FastAPI, public: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()
) -> None:
    """Wrap ``app.openapi`` so the document is patched once, when first built."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app_state(app).openapi_patched and app.openapi_schema:
            return app.openapi_schema
        doc = patch_document(original(), set(public))
        app.openapi_schema = doc
        app_state(app).openapi_patched = True
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
