"""An fsynced, append-only on-disk spool for batches the database could not take.

While the database is unreachable the batch writer appends each batch here, fsyncs, and
only then resolves its submitters (so the device's ack follows the fsync, never a bare
receipt). When the database returns, :meth:`Spool.segments` are replayed through the normal
write path — idempotent thanks to the positions primary key — and deleted after commit.

File format (``spool-<ns>.log`` segments): records of ``length:u32be crc32:u32be payload``
where the payload is one UTF-8 JSON batch. A torn tail (a crash mid-append, never fsynced,
so never acknowledged) fails its length or CRC check and is ignored on replay.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from geomon.model import Observation, Position

log = logging.getLogger(__name__)
_HEADER = struct.Struct(">II")
_MAX_RECORD = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One job of the writer as it went to disk."""

    kind: str
    received_at: datetime
    positions: list[Position]
    observations: list[Observation]


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(data: str | None) -> bytes | None:
    return None if data is None else base64.b64decode(data)


def _position_json(p: Position) -> dict[str, Any]:
    return {
        "u": p.device_uid,
        "t": p.fix_time.isoformat(),
        "lat": p.lat,
        "lon": p.lon,
        "v": p.valid,
        "s": p.speed_mps,
        "c": p.course_deg,
        "a": p.altitude_m,
        "h": p.hdop,
        "n": p.satellites,
        "at": p.attrs,
        "r": _b64(p.raw),
        "p": p.protocol,
    }


def _position_from(d: dict[str, Any]) -> Position:
    return Position(
        d["u"],
        datetime.fromisoformat(d["t"]),
        d["lat"],
        d["lon"],
        valid=d["v"],
        speed_mps=d["s"],
        course_deg=d["c"],
        altitude_m=d["a"],
        hdop=d["h"],
        satellites=d["n"],
        attrs=d["at"],
        raw=_unb64(d["r"]),
        protocol=d["p"],
    )


def _observation_json(o: Observation) -> dict[str, Any]:
    return {
        "u": o.sensor_uid,
        "t": o.observed_at.isoformat(),
        "k": o.kind,
        "v": o.value,
        "x": o.text,
        "lat": o.lat,
        "lon": o.lon,
        "at": o.attrs,
        "r": _b64(o.raw),
    }


def _observation_from(d: dict[str, Any]) -> Observation:
    return Observation(
        d["u"],
        datetime.fromisoformat(d["t"]),
        d["k"],
        value=d["v"],
        text=d["x"],
        lat=d["lat"],
        lon=d["lon"],
        attrs=d["at"],
        raw=_unb64(d["r"]),
    )


def encode_batch(batch: SpooledBatch) -> bytes:
    """One spool record (header + JSON payload)."""
    payload = json.dumps(
        {
            "k": batch.kind,
            "r": batch.received_at.isoformat(),
            "p": [_position_json(p) for p in batch.positions],
            "o": [_observation_json(o) for o in batch.observations],
        },
        default=str,
        separators=(",", ":"),
    ).encode()
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode_records(data: bytes) -> Iterator[SpooledBatch]:
    """The whole records of a segment; stops at the first torn or corrupt one."""
    pos = 0
    while pos + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, pos)
        payload = data[pos + _HEADER.size : pos + _HEADER.size + length]
        if length > _MAX_RECORD or len(payload) < length or zlib.crc32(payload) != crc:
            log.warning("spool: ignoring a torn record at byte %d", pos)
            return
        d = json.loads(payload)
        yield SpooledBatch(
            d["k"],
            datetime.fromisoformat(d["r"]),
            [_position_from(p) for p in d["p"]],
            [_observation_from(o) for o in d["o"]],
        )
        pos += _HEADER.size + length


class Spool:
    """A directory of append-only segments. Not thread-safe: one writer task owns it."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._current: Path | None = None
        self._fd: int | None = None

    def append(self, batches: list[SpooledBatch]) -> int:
        """Append and fsync (blocking: run it in a thread); returns bytes written."""
        data = b"".join(encode_batch(b) for b in batches)
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._current = self.directory / f"spool-{time.time_ns():020d}.log"
            self._fd = os.open(self._current, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _fsync_dir(self.directory)  # the new file's name must survive a crash too
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        return len(data)

    def seal(self) -> None:
        """Close the current segment so the next append starts a new one."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._current = None

    def segments(self) -> list[Path]:
        """Sealed segments, oldest first (seals the current one)."""
        self.seal()
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("spool-*.log"))

    def pending_bytes(self) -> int:
        if not self.directory.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.directory.glob("spool-*.log"))

    @staticmethod
    def read(segment: Path) -> list[SpooledBatch]:
        return list(decode_records(segment.read_bytes()))

    def remove(self, segment: Path) -> None:
        segment.unlink(missing_ok=True)
        _fsync_dir(self.directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
