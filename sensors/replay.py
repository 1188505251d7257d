"""``geomon replay``: send a captured NMEA log (or any line-oriented capture) to a TCP
listener, paced by the capture's own UTC times (RMC/GGA/GNS/ZDA field 1) divided by
``speed`` (0 = as fast as possible). ``#`` comment lines are skipped."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

_TIME = re.compile(rb"\$[A-Z]{2}(?:RMC|GGA|GNS|ZDA|GLL),(\d{2})(\d{2})(\d{2}(?:\.\d+)?)")


def line_seconds(line: bytes) -> float | None:
    """Seconds of the day in a timed sentence, else None."""
    m = _TIME.search(line)
    if m is None:
        return None
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def capture_lines(path: Path) -> list[bytes]:
    lines = path.read_bytes().splitlines()
    return [ln for ln in lines if ln.strip() and not ln.startswith(b"#")]


async def replay(path: Path, host: str, port: int, *, speed: float = 1.0, prefix: str = "") -> int:
    """Send the capture; returns lines sent."""
    _, writer = await asyncio.open_connection(host, port)
    last: float | None = None
    sent = 0
    try:
        for line in capture_lines(path):
            t = line_seconds(line)
            if speed > 0 and t is not None and last is not None and t != last:
                await writer.drain()
                await asyncio.sleep(max(0.0, ((t - last) % 86400)) / speed)
            if t is not None:
                last = t
            writer.write((prefix.encode() + b"," if prefix else b"") + line + b"\r\n")
            sent += 1
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
    return sent
