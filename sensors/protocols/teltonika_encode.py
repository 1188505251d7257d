"""Teltonika Codec 8 encoder (pure), for the simulator, tests and the ingest bench.

The inverse of the decoder for the common case: records with a GNSS element and 1/2/4/8-byte
IO elements. Layout per Teltonika's "Codec 8" documentation: preamble 0, data length,
codec id 0x08, N1, records, N2, then CRC-16/IBM of the data field in 4 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime

from sensors.protocols.teltonika import crc16_ibm


@dataclass(frozen=True, slots=True)
class Record:
    """One AVL record to encode (speed in km/h as the device sends it)."""

    time: datetime
    lat: float
    lon: float
    altitude_m: int = 0
    course_deg: int = 0
    satellites: int = 9
    speed_kmh: int = 0
    priority: int = 0
    event_io_id: int = 0
    io: dict[int, int] = field(default_factory=dict)
    io_sizes: dict[int, int] = field(default_factory=dict)  # id -> 1/2/4/8 bytes (else by value)


def imei_frame(imei: str) -> bytes:
    """The handshake frame: 2-byte length + ASCII IMEI."""
    return len(imei).to_bytes(2, "big") + imei.encode("ascii")


def _size(value: int) -> int:
    for n in (1, 2, 4):
        if 0 <= value < 1 << (8 * n):
            return n
    return 8


def _io(rec: Record) -> bytes:
    groups: dict[int, list[tuple[int, int]]] = {1: [], 2: [], 4: [], 8: []}
    for io_id, value in rec.io.items():
        groups[rec.io_sizes.get(io_id) or _size(value)].append((io_id, value))
    out = bytearray([rec.event_io_id, len(rec.io)])
    for n, items in groups.items():
        out.append(len(items))
        for io_id, value in items:
            out.append(io_id)
            out += value.to_bytes(n, "big", signed=value < 0)
    return bytes(out)


def encode_record(rec: Record) -> bytes:
    ms = round(rec.time.timestamp() * 1000)
    gps = struct.pack(
        ">iihHBH",
        round(rec.lon * 1e7),
        round(rec.lat * 1e7),
        rec.altitude_m,
        rec.course_deg % 360,
        rec.satellites,
        rec.speed_kmh,
    )
    return struct.pack(">QB", ms, rec.priority) + gps + _io(rec)


def encode_codec8(records: list[Record]) -> bytes:
    """A whole TCP AVL packet (preamble … CRC) carrying ``records`` (1..255)."""
    if not 1 <= len(records) <= 255:
        raise ValueError("a Codec 8 packet carries 1 to 255 records")
    data = bytes([0x08, len(records)]) + b"".join(encode_record(r) for r in records)
    data += bytes([len(records)])
    return b"\0\0\0\0" + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")
