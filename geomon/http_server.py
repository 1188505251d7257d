"""uvicorn's HTTP/1.1 protocol with a request-head deadline (slowloris), for the API and the
listener's HTTP ports.

uvicorn times out idle keep-alive connections, but not a request head in progress: a client
that connects and sends nothing, or trickles its request line and headers a byte a second,
holds a connection (and its memory) for as long as it likes, and a few thousand of them use
up the process's file descriptors. Here every request head — from the connection's first
byte, or from the first byte after the previous response — must be complete within
``header_timeout_s``; otherwise the client gets ``408 Request Timeout`` and the connection
is closed. While the server itself is still answering an earlier request on the connection
(pipelining, reads paused), the deadline waits for it. A head (request line and headers) over
``MAX_HEAD_BYTES`` (64 KiB) gets ``431`` and the connection is closed: httptools itself has no
limit, so within the deadline a fast client could grow one request's headers without bound.
Bodies have their own limits (the listener's ``http_read_timeout_s``, the API's body-size
middleware).

httptools is uvicorn's parser when installed (``uvicorn[standard]``, a dependency of ours).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from geomon.pipeline.metrics import COUNTERS

MAX_HEAD_BYTES = 64 * 1024


def _refusal(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\ncontent-length: " + str(len(text)).encode() + b"\r\n\r\n" + text
    )


_408 = _refusal(b"408 Request Timeout", b"request head not received in time\n")
_431 = _refusal(
    b"431 Request Header Fields Too Large", b"request head over %d bytes\n" % MAX_HEAD_BYTES
)


class _HeadTooLarge(Exception):
    """Raised in a parser callback: httptools stops, uvicorn answers through send_400_response."""


class HeadTimeoutProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that cuts request heads slower than ``header_timeout_s``."""

    header_timeout_s: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None
    _head_pending: bool = True
    _head_bytes: int = 0
    _head_too_large: bool = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_pending = True
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is None and not self.transport.is_closing():
            between = self.cycle is None or self.cycle.response_complete
            if self._head_pending or between:  # a head begins (or stray bytes between)
                self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_pending = True
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > MAX_HEAD_BYTES:
            self._head_too_large = True
            raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        COUNTERS.inc("http_refused", reason="head_too_large")
        self.transport.write(_431)
        self.transport.close()

    def on_headers_complete(self) -> None:
        self._head_pending = False
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm()  # we are still answering the previous request: not the client's delay
            return
        COUNTERS.inc("http_refused", reason="header_timeout")
        self.transport.write(_408)
        self.transport.close()


def head_timeout_protocol(header_timeout_s: float) -> type[Any]:
    """The protocol class to give ``uvicorn.Config(http=...)``."""
    return type(
        "HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"header_timeout_s": header_timeout_s}
    )
