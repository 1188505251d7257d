"""A lean HTTP/1.1 keep-alive GET client for load generators (one connection per client).

Why: on the shared 2-core bench host, 50 httpx.AsyncClient workers spent ~8 ms of CPU per
request (0.7 of the 2 cores at 86 req/s, more than the API server itself), so the load
generator starved the server and PostgreSQL it was measuring. This client sends the same
request line and headers a browser or QGIS would (bearer token, ``Accept-Encoding: gzip``, so
the server compresses exactly as before), reads status, headers and the whole body, and does
not decompress or parse it: the server's work per request is unchanged, the client's is small.
"""

from __future__ import annotations

import asyncio


class RawHTTPError(Exception):
    """The connection broke or the answer was not HTTP/1.1 we understand."""


class RawClient:
    """``await RawClient(host, port, headers).get(path) -> (status, body)``; reconnects once
    when the server closed an idle keep-alive connection."""

    def __init__(
        self, host: str, port: int, headers: dict[str, str], timeout: float = 30.0
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._head = f"Host: {host}:{port}\r\nAccept-Encoding: gzip\r\n{extra}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self._writer is None:
                await self._connect()
            try:
                return await asyncio.wait_for(self._exchange(path), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                await self.close()
                if attempt:
                    raise RawHTTPError(f"{type(exc).__name__}: {exc}") from exc
            except TimeoutError as exc:
                await self.close()
                raise RawHTTPError("timeout") from exc
        raise AssertionError("unreachable")

    async def _exchange(self, path: str) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        self._writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._head)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, _, rest = head.partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise RawHTTPError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        length, chunked, close = None, False, False
        for line in rest.lower().split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
            elif name == b"connection" and b"close" in value:
                close = True
        if chunked:
            body = await self._chunked()
        elif length is not None:
            body = await self._reader.readexactly(length)
        else:  # no length: the body ends with the connection
            body, close = await self._reader.read(), True
        if close:
            await self.close()
        return int(parts[1]), body

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        out = bytearray()
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # no trailers from our server
                return bytes(out)
            out += await self._reader.readexactly(size + 2)
            del out[-2:]
