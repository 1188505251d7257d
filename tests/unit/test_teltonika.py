"""Teltonika decoder against Traccar's captured frames, decoded independently (teltonika.json)."""

from __future__ import annotations

import contextlib
import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomon.errors import ChecksumError, DecodeError, FrameError
from sensors.protocols.teltonika import (
    AvlPacket,
    CommandPacket,
    ImeiFrame,
    TeltonikaStreamDecoder,
    crc16_ibm,
    decode_frame,
    decode_imei,
    decode_packet,
    io_json,
)

ENTRIES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "trackers" / "teltonika.json").read_text()
)
IMEI = "123456789012345"


def by_kind(*kinds: str, crc: bool | None = True) -> list[dict]:
    return [
        e
        for e in ENTRIES
        if e["expected"]["kind"] in kinds and (crc is None or e["expected"].get("crc_valid") is crc)
    ]


def raw(entry: dict) -> bytes:
    return bytes.fromhex(entry["raw"])


def assert_record(rec, exp: dict) -> None:
    assert (
        int((rec.time - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))
        == exp["timestamp_ms"]
    )
    assert rec.time.isoformat(timespec="milliseconds").replace("+00:00", "Z") == exp["time"]
    assert rec.lat == pytest.approx(exp["latitude"], abs=1e-7)
    assert rec.lon == pytest.approx(exp["longitude"], abs=1e-7)
    assert rec.altitude_m == exp["altitude_m"]
    assert rec.course_deg == exp["course_deg"]
    assert rec.satellites == exp["satellites"]
    assert rec.speed_kmh == exp["speed_kmh"]
    assert rec.speed_mps == pytest.approx(exp["speed_mps"], abs=1e-6)
    assert rec.priority == exp["priority"]
    assert rec.event_io_id == exp["event_io_id"]
    assert io_json(rec.io) == {**exp["io"], **exp.get("io_nx_hex", {})}
    if "generation_type" in exp:
        assert rec.generation_type == exp["generation_type"]


def assert_plausible(p) -> None:
    assert p.fix_time.utcoffset() == timedelta(0) and p.fix_time.year >= 2000
    assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180
    assert p.speed_mps is not None and p.speed_mps >= 0
    json.dumps(p.attrs)  # storable as jsonb


@pytest.mark.parametrize("entry", by_kind("avl"), ids=lambda e: e["id"])
def test_avl_packets_field_by_field(entry: dict) -> None:
    exp = entry["expected"]
    packet = decode_packet(raw(entry))
    assert isinstance(packet, AvlPacket)
    assert f"0x{packet.codec:02X}" == exp["codec_id"]
    assert len(packet.records) == exp["record_count"]
    assert packet.ack.hex() == exp["server_ack_hex"]
    for rec, rec_exp in zip(packet.records, exp["records"], strict=True):
        assert_record(rec, rec_exp)
    assert b"".join(r.raw for r in packet.records) == raw(entry)[10:-5]  # records, in order
    for p, rec in zip(packet.positions(IMEI), packet.records, strict=True):
        assert p.device_uid == IMEI and p.protocol == "teltonika" and p.raw == rec.raw
        assert p.valid == (rec.satellites > 0)
        assert_plausible(p)


@pytest.mark.parametrize("entry", by_kind("avl", crc=False), ids=lambda e: e["id"])
def test_bad_crc_rejected_but_layout_decodes_without_check(entry: dict) -> None:
    exp = entry["expected"]
    if not exp["length_consistent"]:
        with pytest.raises(FrameError, match="data length"):
            decode_packet(raw(entry))
        with pytest.raises(FrameError):
            decode_packet(raw(entry), check_crc=False)
        return
    with pytest.raises(ChecksumError):
        decode_packet(raw(entry))
    packet = decode_packet(raw(entry), check_crc=False)
    assert isinstance(packet, AvlPacket)
    for rec, rec_exp in zip(packet.records, exp["records"], strict=True):
        assert_record(rec, rec_exp)


def test_crc16_ibm_reference_values() -> None:
    assert crc16_ibm(b"123456789") == 0xBB3D  # CRC-16/ARC check value
    for entry in by_kind("avl", "codec12", "codec13"):
        exp = entry["expected"]
        data = raw(entry)[8:-4]
        assert f"{crc16_ibm(data):04x}" == exp["crc_calc_hex"]


def _crc16_arc_bitwise(data: bytes) -> int:
    """The textbook bit-at-a-time CRC-16/ARC, to check the library against."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@given(st.binary(max_size=2048))
@settings(max_examples=300, deadline=None)
def test_crc16_ibm_equals_the_bitwise_definition(data: bytes) -> None:
    assert crc16_ibm(data) == _crc16_arc_bitwise(data)


@pytest.mark.parametrize("entry", by_kind("imei", crc=None), ids=lambda e: e["id"])
def test_imei_frame(entry: dict) -> None:
    frame = decode_frame(raw(entry))
    assert frame == ImeiFrame(entry["expected"]["imei"])


@pytest.mark.parametrize(
    "bad", [b"\x00\x0f12345", b"\x00\x0512a45", b"\x00\x03123", b"\x00", b"\x00\x0f" + b"\xff" * 15]
)
def test_bad_imei_frames(bad: bytes) -> None:
    with pytest.raises(FrameError):
        decode_imei(bad)


@pytest.mark.parametrize("entry", by_kind("codec12", "codec13"), ids=lambda e: e["id"])
def test_command_frames_recognised(entry: dict) -> None:
    exp = entry["expected"]
    packet = decode_packet(raw(entry))
    assert isinstance(packet, CommandPacket)
    assert f"0x{packet.codec:02X}" == exp["codec_id"]
    for msg, m_exp in zip(packet.messages, exp["records"], strict=True):
        assert msg.type == m_exp["type"]
        assert msg.payload.hex() == m_exp["payload_hex"]
        assert msg.text == m_exp["payload_text"]
        if "timestamp_s" in m_exp:
            assert msg.timestamp == datetime.fromtimestamp(m_exp["timestamp_s"], UTC)


@pytest.mark.parametrize("entry", by_kind("codec12", "codec13", crc=False), ids=lambda e: e["id"])
def test_command_frames_with_bad_crc_rejected(entry: dict) -> None:
    with pytest.raises(ChecksumError):
        decode_packet(raw(entry))


def test_unsupported_codec_is_a_frame_error() -> None:
    (entry,) = by_kind("codec7-gh3000", crc=None)
    with pytest.raises(FrameError, match="unsupported"):
        decode_packet(raw(entry), check_crc=False)


def test_extended_io16_codec8_variant() -> None:
    (entry,) = [e for e in ENTRIES if e["id"] == "teltonika-L158"]
    packet = decode_packet(raw(entry))
    assert isinstance(packet, AvlPacket) and packet.extended_io16
    assert len(packet.records) == 11


def good_frames() -> list[bytes]:
    return [raw(e) for e in by_kind("avl")]


@pytest.mark.parametrize("cut", [1, 5, 9, 20, -5, -1])
def test_truncated_packets_rejected(cut: int) -> None:
    for frame in good_frames():
        with pytest.raises(DecodeError):
            decode_packet(frame[:cut])


def test_wrong_length_and_count_rejected() -> None:
    frame = good_frames()[0]
    data = frame[8:-4]
    longer = frame[:4] + struct.pack(">I", len(data) + 1) + data + frame[-4:]
    with pytest.raises(FrameError):
        decode_packet(longer)
    bad_count = bytearray(data)
    bad_count[-1] ^= 0x01
    resealed = frame[:8] + bytes(bad_count) + struct.pack(">I", crc16_ibm(bytes(bad_count)))
    with pytest.raises(FrameError, match="record counts"):
        decode_packet(resealed)
    with pytest.raises(FrameError):
        decode_frame(b"\x01\x02\x03\x04" + frame[4:])


def test_positions_name_known_io_elements() -> None:
    (entry,) = [e for e in ENTRIES if e["id"] == "teltonika-L144"]
    (p,) = decode_packet(raw(entry)).positions(IMEI)
    assert p.attrs["ignition"] is True and p.attrs["movement"] is True
    assert p.attrs["gsm_signal"] == 5
    assert p.attrs["external_voltage_v"] == pytest.approx(14.363)
    assert p.attrs["battery_voltage_v"] == pytest.approx(3.928)
    assert p.attrs["pdop"] == pytest.approx(1.1) and p.hdop == pytest.approx(0.6)
    assert p.attrs["io"]["239"] == 1
    assert p.speed_mps == pytest.approx(26.111111, abs=1e-6)
    (entry,) = [e for e in ENTRIES if e["id"] == "teltonika-L39"]
    power_cut = decode_packet(raw(entry)).positions(IMEI)[2]
    assert power_cut.attrs["unplug"] == 1 and power_cut.attrs["event_io_id"] == 252


# --- stream: framer + decoder, chunking at every byte ------------------------------------


def stream_bytes() -> tuple[bytes, list[bytes]]:
    imei = bytes.fromhex("000f313233343536373839303132333435")
    packets = good_frames()[:4]
    return imei + b"".join(packets), packets


def decode_stream(chunks: list[bytes]) -> list:
    dec = TeltonikaStreamDecoder()
    out = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    return out


def summary(items: list) -> list:
    return [
        (type(i).__name__, getattr(i, "imei", None), getattr(i, "raw", None), str(i)[:0])
        for i in items
    ]


def test_stream_every_split_point_and_byte_by_byte() -> None:
    data, packets = stream_bytes()
    whole = decode_stream([data])
    assert [type(i) for i in whole] == [ImeiFrame] + [AvlPacket] * len(packets)
    for i in range(0, len(data) + 1):
        assert summary(decode_stream([data[:i], data[i:]])) == summary(whole), i
    assert summary(decode_stream([data[i : i + 1] for i in range(len(data))])) == summary(whole)


def test_stream_concatenated_with_garbage_and_bad_crc() -> None:
    data, packets = stream_bytes()
    bad = bytearray(packets[0])
    bad[-1] ^= 0xFF
    noisy = data[:17] + b"\xde\xad" + bytes(bad) + b"\x00\x00\x13" + b"".join(packets)
    out = decode_stream([noisy])
    assert isinstance(out[0], ImeiFrame)
    assert isinstance(out[1], ChecksumError)  # no ack: the device resends
    assert [p.raw for p in out[2:]] == packets


# --- property tests -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_decode_errors(data: bytes) -> None:
    for candidate in (data, b"\x00\x00\x00\x00" + data, b"\x00\x0f" + data):
        with contextlib.suppress(DecodeError):
            decode_frame(candidate, check_crc=False)
    items = TeltonikaStreamDecoder(check_crc=False).feed(data)
    assert all(isinstance(i, (ImeiFrame, AvlPacket, CommandPacket, DecodeError)) for i in items)


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, 10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4),
)
def test_corrupted_real_packets_resealed_with_valid_crc(index: int, flips: list) -> None:
    """Corrupt the data field, recompute length and CRC: the layout checks must hold."""
    frame = good_frames()[index % len(good_frames())]
    data = bytearray(frame[8:-4])
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    sealed = b"\x00" * 4 + struct.pack(">I", len(data)) + bytes(data)
    sealed += struct.pack(">I", crc16_ibm(bytes(data)))
    try:
        packet = decode_packet(sealed)
    except DecodeError:
        return
    if isinstance(packet, AvlPacket):
        for p in packet.positions(IMEI):
            assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180
            json.dumps(p.attrs)


def test_a_stream_decode_error_carries_its_frame() -> None:
    """The adapter logs a rejected frame's hex (as the NMEA one does): the error holds it."""
    entry = next(e for e in by_kind("avl", crc=False) if e["expected"]["length_consistent"])
    imei = bytes.fromhex("000f313233343536373839303132333435")
    items = TeltonikaStreamDecoder().feed(imei + raw(entry))
    errors = [i for i in items if isinstance(i, DecodeError)]
    assert len(errors) == 1 and errors[0].frame == raw(entry)
