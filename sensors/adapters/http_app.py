"""The listener process's HTTP side: OsmAnd (Traccar Client phones), BCP observations over
HTTP POST, and this process's ``/metrics``.

- ``GET|POST /`` (any path but the ones below): OsmAnd query, form or JSON → 200 only after
  commit (the phone app deletes its buffered point on 200); 400 with the decoder's message
  for bad input; 401 for a missing/wrong device token; 503 + ``Retry-After`` when the ingest
  queue is full or the data could not be made durable.
- ``POST /observations``: one BCP observation object or an array (docs/bcp-observations.md).
- ``GET /metrics``: Prometheus text of this process's counters; ``GET /health``.

Bodies are read in chunks up to ``body_max_bytes`` (GEOMON_INGEST__HTTP_BODY_MAX_BYTES): a
larger ``Content-Length`` is answered 413 before anything is read, a longer streamed body 413
as soon as it passes the limit, so a body is never held in memory past it. A body that does
not arrive within ``read_timeout_s`` (GEOMON_INGEST__HTTP_READ_TIMEOUT_S; slow senders) gets
408 and the connection is closed.

Device tokens: ``Authorization: Bearer <token>`` or a ``token`` query parameter (the Traccar
Client can only put it in its server URL). ``--accept-unknown`` (demos) skips the check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from geomon.errors import DecodeError, Overloaded
from geomon.pipeline.metrics import COUNTERS
from sensors.protocols.bcp import decode_observations
from sensors.protocols.osmand import decode_osmand
from sensors.registry import DeviceRegistry

log = logging.getLogger(__name__)
Submit = Callable[..., Awaitable[int]]


def _token(request: Request) -> tuple[str | None, str]:
    """The device token and the query string without it (so it never lands in attrs)."""
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    token = next((v for k, v in pairs if k == "token"), None)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    return token, urlencode([(k, v) for k, v in pairs if k != "token"])


class _BodyRefused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


async def _read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The body, or _BodyRefused(413 / 408) while reading: never more than ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        COUNTERS.inc("http_refused", reason="too_large")
        raise _BodyRefused(_refusal(f"body over {max_bytes} bytes\n", 413))
    parts: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                COUNTERS.inc("http_refused", reason="too_large")
                raise _BodyRefused(_refusal(f"body over {max_bytes} bytes\n", 413))
            parts.append(chunk)

    try:
        await asyncio.wait_for(read(), timeout_s)
    except TimeoutError:
        COUNTERS.inc("http_refused", reason="read_timeout")
        raise _BodyRefused(_refusal(f"body not received within {timeout_s:g} s\n", 408)) from None
    return b"".join(parts)


def _refusal(text: str, status: int) -> Response:
    return PlainTextResponse(text, status, headers={"Connection": "close"})


async def _authorised(
    registry: DeviceRegistry, uids: set[str], token: str | None
) -> Response | None:
    for uid in uids:
        ok = await registry.token_ok(uid, token)
        if ok is None:
            return PlainTextResponse(
                "device registry unavailable\n", 503, headers={"Retry-After": "5"}
            )
        if not ok:
            COUNTERS.inc("auth_failed", protocol="http")
            return PlainTextResponse(f"device {uid!r}: unknown or bad token\n", 401)
    return None


async def _commit(submit: Submit, records: list, protocol: str, **kw: object) -> Response:
    try:
        await submit(records, **kw)
    except Overloaded as exc:
        return PlainTextResponse(
            "ingest queue full, retry later\n",
            503,
            headers={"Retry-After": str(max(1, round(exc.retry_after_s)))},
        )
    except Exception as exc:
        log.warning("%s: not stored: %s", protocol, exc)
        return PlainTextResponse("not stored, retry later\n", 503, headers={"Retry-After": "5"})
    return PlainTextResponse("OK\n", 200)


def make_http_app(
    submit_positions: Submit,
    submit_observations: Submit,
    registry: DeviceRegistry,
    *,
    body_max_bytes: int = 1 << 20,
    read_timeout_s: float = 10.0,
    healthy: Callable[[], bool] = lambda: True,
) -> Starlette:
    """The Starlette app of the listener process (``healthy``: the writers' state, for
    ``/health`` and the ``geomon_writer_healthy`` gauge)."""

    async def osmand(request: Request) -> Response:
        token, query = _token(request)
        try:
            body = await _read_body(request, body_max_bytes, read_timeout_s)
        except _BodyRefused as refused:
            return refused.response
        try:
            positions = decode_osmand(
                request.method,
                query,
                request.headers.get("content-type", ""),
                body,
                received_at=datetime.now(UTC),
            )
        except DecodeError as exc:
            COUNTERS.inc("decode_errors", protocol="osmand", error=type(exc).__name__)
            return PlainTextResponse(f"bad request: {exc}\n", 400)
        if not positions:
            return PlainTextResponse("OK (no position)\n", 200)
        denied = await _authorised(registry, {p.device_uid for p in positions}, token)
        if denied is not None:
            return denied
        COUNTERS.inc("frames_accepted", protocol="osmand")
        return await _commit(submit_positions, positions, "osmand", kind="phone")

    async def observations(request: Request) -> Response:
        token, _ = _token(request)
        try:
            body = await _read_body(request, body_max_bytes, read_timeout_s)
        except _BodyRefused as refused:
            return refused.response
        try:
            obs = decode_observations(body)
        except DecodeError as exc:
            COUNTERS.inc("decode_errors", protocol="bcp", error=type(exc).__name__)
            return PlainTextResponse(f"bad request: {exc}\n", 400)
        denied = await _authorised(registry, {o.sensor_uid for o in obs}, token)
        if denied is not None:
            return denied
        return await _commit(submit_observations, obs, "bcp")

    async def metrics(request: Request) -> Response:
        gauge = (
            f"# TYPE geomon_writer_healthy gauge\ngeomon_writer_healthy {1 if healthy() else 0}\n"
        )
        return PlainTextResponse(
            COUNTERS.prometheus() + gauge, media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def health(request: Request) -> Response:
        if not healthy():
            return PlainTextResponse("unhealthy: the ingest writer is restarting\n", 503)
        return PlainTextResponse("ok\n")

    return Starlette(
        routes=[
            Route("/metrics", metrics, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/observations", observations, methods=["POST"]),
            Route("/{path:path}", osmand, methods=["GET", "POST"]),
        ]
    )
