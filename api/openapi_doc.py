"""Post-processing of the generated OpenAPI document so it says what the app really answers.

- Error bodies are ``{"detail": "message"}`` for our own errors and FastAPI's list for request
  validation: the ``HTTPValidationError.detail`` schema accepts both.
- Every operation outside the public list documents 401 (no or bad credentials) and 403 (role
  or must-change-password); every operation with parameters or a body documents 404 (an id it
  refers to may not exist or be invisible) and 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ERROR_REF = {"$ref": "#/components/schemas/ErrorMessage"}
ERROR_SCHEMA = {"title": "ErrorMessage", "type": "object", "required": ["detail"],
                "properties": {"detail": {"type": "string", "description": "What is wrong."}}}
_DESCRIPTIONS = {
    "401": "Not authenticated: missing, invalid or expired token or session.",
    "403": "Authenticated, but the role (or a pending password change) does not allow this.",
    "404": "No such resource (or one it refers to), or not visible to the caller's agency.",
    "422": "A parameter or the body is invalid; `detail` says what.",
}


def _error(code: str) -> dict[str, Any]:
    return {"description": _DESCRIPTIONS[code],
            "content": {"application/json": {"schema": ERROR_REF}}}


def patch_document(doc: dict[str, Any], public: set[tuple[str, str]]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorMessage"] = ERROR_SCHEMA
    if "HTTPValidationError" in schemas:
        schemas["HTTPValidationError"]["properties"]["detail"] = {
            "anyOf": [{"type": "string"},
                      {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}],
            "title": "Detail"}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            wanted = [] if (method.upper(), path) in public else ["401", "403"]
            if op.get("parameters") or op.get("requestBody"):
                wanted += ["404", "422"]  # a referenced id (path, query or body) may not exist
            for code in wanted:
                responses.setdefault(code, _error(code))
    return doc


def install(app: FastAPI, public: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()
            ) -> None:
    """Wrap ``app.openapi`` so the document is patched once, when first built."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if getattr(app.state, "openapi_patched", False) and app.openapi_schema:
            return app.openapi_schema
        doc = patch_document(original(), set(public))
        app.openapi_schema = doc
        app.state.openapi_patched = True
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
