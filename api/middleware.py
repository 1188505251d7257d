"""ASGI middleware: the request-body size limit and the audit log.

Audit: every change (any method but GET/HEAD/OPTIONS) and every read of tracks or positions
writes one row, committed *before* the response starts, so a client that saw the answer can
count on the row. A read whose audit row cannot be written is refused with 503 (fail closed).
Rows of concurrent requests are committed together (api/audit_writer.py: group commit).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

from psycopg.pq import TransactionStatus
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import forget_principals
from geomon.store.audit import AuditEntry, commit_with_audit

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reads of tracks/positions (also their tiles, OGC items and the live stream): matched on the
# concrete path, so /ogc/collections/tracks/items is audited and .../places/items is not.
AUDITED_READ = re.compile(r"position|track|/latest|/live", re.IGNORECASE)
_MAX_PARAM_CHARS = 500


async def _send_json(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body is not read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for request bodies above ``max_bytes`` (declared or streamed); 408 (connection
    closed) for a body not received within ``timeout_s`` of the route's first read of it."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 120.0) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, f"request body over {self.max_bytes} bytes")
            return
        seen, too_big, too_slow, started, body_done = 0, False, False, False, False
        deadline: float | None = None
        loop = asyncio.get_running_loop()

        async def limited_receive() -> Message:
            nonlocal seen, too_big, too_slow, body_done, deadline
            if too_big or too_slow:
                return {"type": "http.disconnect"}
            if body_done:  # after the body: a wait for the disconnect (streams) has no limit
                return await receive()
            if deadline is None:
                deadline = loop.time() + self.timeout_s
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                too_slow = True
                return {"type": "http.disconnect"}
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                too_big = True
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_big or too_slow:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not (too_big or too_slow):
                raise
        if too_big and not started:
            await _send_json(send, 413, f"request body over {self.max_bytes} bytes")
        elif too_slow and not started:
            detail = f"request body not received within {self.timeout_s:g} s"
            await _send_json(send, 408, detail, close=True)


def _params(scope: Scope) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    out: dict[str, Any] = {}
    for key, value in parse_qsl(
        scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
    ):
        value = value[:_MAX_PARAM_CHARS]
        out[key] = (
            [*out[key], value]
            if key in out and isinstance(out[key], list)
            else ([out[key], value] if key in out else value)
        )
    for key, value in (scope.get("path_params") or {}).items():
        out.setdefault(key, str(value)[:_MAX_PARAM_CHARS])
    return out


def route_template(scope: Scope) -> str:
    """The matched route's full template (with its router prefix), else the path."""
    try:
        from fastapi.routing import _get_scope_effective_route_context

        template = getattr(_get_scope_effective_route_context(scope), "path_format", None)
    except ImportError:  # older FastAPI: scope["route"] carries the full path
        template = None
    return str(template or getattr(scope.get("route"), "path", None) or scope["path"])


def should_audit(scope: Scope) -> bool:
    state = scope.get("state") or {}
    return (
        scope["method"] not in READ_METHODS
        or bool(state.get("audit"))
        or bool(AUDITED_READ.search(scope["path"]))
    )


def audit_entry(scope: Scope, status: int, started: float) -> AuditEntry:
    state = scope.get("state") or {}
    principal = state.get("principal")
    route = route_template(scope)
    client = scope.get("client")
    params = _params(scope)
    if principal is None and state.get("audit_user"):
        params["username"] = str(state["audit_user"])[:200]
    extra = state.get("audit_params")  # what a route adds, e.g. the id of a created row
    if isinstance(extra, dict):
        params.update(
            {
                str(k): v if isinstance(v, int | float | bool | None) else str(v)[:500]
                for k, v in extra.items()
            }
        )
    return AuditEntry(
        method=scope["method"],
        route=route,
        path=scope["path"][:2000],
        status=status,
        user_id=getattr(principal, "user_id", None),
        username=getattr(principal, "user", None),
        agency_id=getattr(principal, "agency_id", None),
        params=params,
        client=client[0] if client else None,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )


class AuditMiddleware:
    """Write one audit row per audited request through the app's :class:`AuditWriter`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, refused = time.perf_counter(), False

        async def audited_send(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and scope["method"] not in READ_METHODS:
                # a change may revoke/alter someone's credentials: before the client sees the
                # answer, this process forgets every cached principal (api.auth)
                forget_principals(scope.get("app"))
            if (
                message["type"] == "http.response.start"
                and should_audit(scope)
                and not await self._write(scope, message["status"], started)
                and scope["method"] in READ_METHODS
            ):
                refused = True
                await _send_json(send, 503, "audit log unavailable")
                return
            if not refused:
                await send(message)

        await self.app(scope, receive, audited_send)

    async def _write(self, scope: Scope, status: int, started: float) -> bool:
        writer = getattr(scope["app"].state, "audit_writer", None)
        entry = audit_entry(scope, status, started)
        conn = (scope.get("state") or {}).get("audit_conn")
        if (
            conn is not None
            and 200 <= status < 400
            and scope["method"] in READ_METHODS
            and conn.info.transaction_status == TransactionStatus.INTRANS
        ):
            # the read's own transaction, still open (request-scoped) and done with: the row
            # and the COMMIT go in one round trip, before the response starts
            try:
                await commit_with_audit(conn, entry)
                return True
            except Exception as exc:
                log.error("audit write failed for %s %s: %r", entry.method, entry.path, exc)
                return False
        if writer is None:  # no lifespan ran: nowhere to write, so the read is refused
            log.error("audit write impossible for %s %s: no writer", entry.method, entry.path)
            return False
        try:
            # group commit (api/audit_writer.py): returns once this row is committed
            await writer.write(entry)
            return True
        except Exception as exc:  # the response must not hang on a broken audit write
            log.error("audit write failed for %s %s: %r", entry.method, entry.path, exc)
            return False
