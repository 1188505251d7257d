"""The Codec 8 encoder (simulator, tests, bench) reproduces real captured packets byte for byte
when given their records and IO sizes, and its output decodes back to the same records."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from geomon.errors import DecodeError
from sensors.protocols.teltonika import AvlPacket, decode_frame
from sensors.protocols.teltonika_encode import Record, encode_codec8, imei_frame

FRAMES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures/trackers/teltonika.json").read_text()
)


def _io_layout(raw: bytes) -> list[tuple[list[int], dict[int, int]]]:
    """Per record: IO ids in wire order and their byte sizes (an independent walk of the
    Codec 8 layout: 8 time + 1 priority + 15 GPS, then event id, count, 4 groups)."""
    pos, out = 10, []
    for _ in range(raw[9]):
        pos += 8 + 1 + 15 + 2
        order, sizes = [], {}
        for size in (1, 2, 4, 8):
            n = raw[pos]
            pos += 1
            for _ in range(n):
                order.append(raw[pos])
                sizes[raw[pos]] = size
                pos += 1 + size
        out.append((order, sizes))
    return out


def _codec8_frames() -> list[tuple[str, bytes]]:
    """Real standard Codec 8 captures that decode: frames that must be rejected and the
    non-standard 16-byte IO group variant are not for the encoder to reproduce."""
    out = []
    for f in FRAMES:
        if f["expected"].get("kind") != "avl":
            continue
        raw = bytes.fromhex(f["raw"])
        if raw[8] != 0x08:
            continue
        try:
            packet = decode_frame(raw)
        except DecodeError:
            continue
        if not packet.extended_io16:
            out.append((f["id"], raw))
    return out


def test_the_reencoding_covers_most_captures() -> None:
    assert len(_codec8_frames()) >= 8


@pytest.mark.parametrize(("name", "raw"), _codec8_frames())
def test_reencodes_real_captures_byte_for_byte(name: str, raw: bytes) -> None:
    packet = decode_frame(raw)
    assert isinstance(packet, AvlPacket)
    records = []
    for rec, (order, sizes) in zip(packet.records, _io_layout(raw), strict=True):
        io = {i: rec.io[i] for i in order}
        records.append(
            Record(
                rec.time,
                rec.lat,
                rec.lon,
                rec.altitude_m,
                rec.course_deg,
                rec.satellites,
                rec.speed_kmh,
                rec.priority,
                rec.event_io_id,
                io,
                sizes,
            )
        )
    assert encode_codec8(records) == raw


def test_round_trip_and_handshake() -> None:
    t = datetime(2026, 11, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    recs = [Record(t, 42.87, -74.6, 800, 359, 9, 61, io={239: 1, 66: 13800, 16: 2**33})]
    packet = decode_frame(encode_codec8(recs))
    assert isinstance(packet, AvlPacket)
    r = packet.records[0]
    assert (r.time, r.lat, r.lon, r.altitude_m, r.course_deg, r.speed_kmh) == (
        t,
        42.87,
        -74.6,
        800,
        359,
        61,
    )
    assert r.io == {239: 1, 66: 13800, 16: 2**33}
    assert packet.ack == struct.pack(">I", 1)
    assert imei_frame("356307042441013") == b"\x00\x0f356307042441013"
    with pytest.raises(ValueError):
        encode_codec8([])
