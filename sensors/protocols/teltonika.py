"""Teltonika TCP protocol decoder: IMEI handshake, Codec 8 / 8E / 16 AVL data, Codec 12/13/14.

Pure: a whole frame in (as :class:`sensors.framing.TeltonikaFramer` cuts it), a typed
result out. The decoder *returns* the reply bytes (``IMEI_ACCEPT``/``IMEI_REJECT``,
``AvlPacket.ack``); the caller sends them - the AVL ack only after the records are
committed (DESIGN.md §4), so a device whose data was not stored resends it.

Packet layout (Teltonika wiki, "Codec" page)::

    00000000 | data length u32 | codec u8 | N1 u8 | records… | N2 u8 | CRC u32
                                 '------------ data field ------------'

CRC-16/IBM (reflected poly 0xA001, init 0) over the data field, in the low 16 bits of
the CRC word; a mismatch raises :class:`~geomon.errors.ChecksumError`. N1 must equal N2 and
the records must use the data field exactly, else :class:`~geomon.errors.FrameError`.
Field values: coordinates are signed 1e-7 degrees, altitude metres, angle degrees, speed
km/h (converted to ``speed_mps``); IO values are kept raw (unsigned; NX values as bytes).
Named IO elements (ignition, voltages, jamming…) are listed in
:mod:`sensors.protocols.teltonika_io`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from fastcrc.crc16 import arc as _arc

from geomon.errors import ChecksumError, DecodeError, FrameError
from geomon.model import Position
from sensors.framing import TeltonikaFramer
from sensors.protocols.teltonika_io import add_named, io_plan

IMEI_ACCEPT = b"\x01"
IMEI_REJECT = b"\x00"
CODEC_8, CODEC_8E, CODEC_16 = 0x08, 0x8E, 0x10
CODEC_12, CODEC_13, CODEC_14 = 0x0C, 0x0D, 0x0E
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

IoValue = int | bytes


def crc16_ibm(data: bytes) -> int:
    """CRC-16/IBM (a.k.a. CRC-16/ARC): reflected polynomial 0xA001, initial value 0.
    From ``fastcrc`` (Rust): far faster than a table-driven Python loop."""
    return _arc(data)


@dataclass(frozen=True, slots=True)
class ImeiFrame:
    """The handshake: the device's IMEI. Reply ``IMEI_ACCEPT`` or ``IMEI_REJECT`` (and close)."""

    imei: str


class AvlRecord(NamedTuple):
    """One AVL record exactly as sent (units as the device sends them, speed in km/h).
    A named tuple: built in C, a fifth of a frozen dataclass's cost per record."""

    time: datetime
    priority: int
    lon: float
    lat: float
    altitude_m: int
    course_deg: int
    satellites: int
    speed_kmh: int
    event_io_id: int
    io: dict[int, IoValue]
    generation_type: int | None = None  # Codec 16 only
    raw: bytes = b""  # this record's bytes inside the packet (stored with the position)

    @property
    def speed_mps(self) -> float:
        return self.speed_kmh / 3.6

    @property
    def valid(self) -> bool:
        """Teltonika marks a record without a GNSS fix by zero satellites (last known place)."""
        return self.satellites > 0 and not (self.lat == 0.0 and self.lon == 0.0)


@dataclass(frozen=True, slots=True)
class AvlPacket:
    """Codec 8/8E/16 data. ``ack`` is the 4-byte record count to send after commit."""

    codec: int
    records: tuple[AvlRecord, ...]
    raw: bytes
    extended_io16: bool = False  # non-standard 16-byte IO group (Traccar teltonika.extended)

    @property
    def ack(self) -> bytes:
        return len(self.records).to_bytes(4, "big")

    def positions(self, device_uid: str) -> list[Position]:
        """One Position per record, named IO elements and the raw IO map in ``attrs``."""
        return [_position(r, device_uid, self.codec) for r in self.records]


@dataclass(frozen=True, slots=True)
class CommandMessage:
    """One Codec 12/13/14 message: type 5 = command, 6 = response (others device-specific)."""

    type: int
    payload: bytes
    timestamp: datetime | None = None  # Codec 13
    imei: str | None = None  # Codec 14

    @property
    def text(self) -> str | None:
        """The payload as text when it is printable ASCII (trailing CR/LF kept)."""
        try:
            text = self.payload.decode("ascii")
        except UnicodeDecodeError:
            return None
        return text if text.rstrip("\r\n").isprintable() else None


@dataclass(frozen=True, slots=True)
class CommandPacket:
    """Codec 12/13/14 frame: command responses, not locations; the protocol sends no ack."""

    codec: int
    messages: tuple[CommandMessage, ...]
    raw: bytes


TeltonikaFrame = ImeiFrame | AvlPacket | CommandPacket


class _Reader:
    """Bounds-checked big-endian reads; running off the end is a :class:`FrameError`."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FrameError(f"truncated Teltonika data at byte {self.pos} (+{n})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def sint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big", signed=True)


def decode_imei(frame: bytes) -> ImeiFrame:
    """``[u16 length][ASCII digits]`` → :class:`ImeiFrame` (8 to 17 digits accepted)."""
    if len(frame) < 2 or int.from_bytes(frame[:2], "big") != len(frame) - 2:
        raise FrameError("IMEI frame length does not match its header")
    imei = frame[2:]
    if not (8 <= len(imei) <= 17 and imei.isdigit()):
        raise FrameError(f"IMEI frame is not 8-17 ASCII digits: {imei[:20]!r}")
    return ImeiFrame(imei.decode("ascii"))


def decode_packet(frame: bytes, *, check_crc: bool = True) -> AvlPacket | CommandPacket:
    """Decode ``00000000 | len | data | crc`` into an AVL or command packet."""
    if len(frame) < 12 or frame[:4] != b"\x00\x00\x00\x00":
        raise FrameError("not a Teltonika packet (no 00000000 preamble)")
    length = int.from_bytes(frame[4:8], "big")
    if len(frame) != 8 + length + 4:
        raise FrameError(f"data length {length} does not match frame size {len(frame)}")
    data = frame[8 : 8 + length]
    crc_field = int.from_bytes(frame[8 + length :], "big")
    if check_crc and crc_field != crc16_ibm(data):
        raise ChecksumError(
            f"Teltonika CRC mismatch: frame {crc_field:08x}, computed {crc16_ibm(data):04x}"
        )
    if length < 3:
        raise FrameError("Teltonika data field too short")
    codec, n1, n2 = data[0], data[1], data[-1]
    if n1 != n2:
        raise FrameError(f"record counts disagree: {n1} before, {n2} after")
    if codec in (CODEC_8, CODEC_8E, CODEC_16):
        return _decode_avl(codec, n1, data, frame)
    if codec in (CODEC_12, CODEC_13, CODEC_14):
        return _decode_commands(codec, n1, data, frame)
    raise FrameError(f"unsupported Teltonika codec 0x{codec:02X}")


def decode_frame(frame: bytes, *, check_crc: bool = True) -> TeltonikaFrame:
    """Decode either kind of frame: an IMEI handshake or a packet (used by ``geomon decode``)."""
    if frame[:4] == b"\x00\x00\x00\x00":
        return decode_packet(frame, check_crc=check_crc)
    return decode_imei(frame)


def _decode_avl(codec: int, count: int, data: bytes, frame: bytes) -> AvlPacket:
    if count == 0:
        raise FrameError("AVL packet with zero records")
    try:
        records = _read_records(codec, count, data, io16=False)
        return AvlPacket(codec, records, frame)
    except FrameError:
        if codec != CODEC_8:
            raise
    # some FMB firmwares (Traccar's "teltonika.extended") add a 16-byte IO group to Codec 8
    records = _read_records(codec, count, data, io16=True)
    return AvlPacket(codec, records, frame, extended_io16=True)


_U8, _U16 = struct.Struct(">B"), struct.Struct(">H")
_NX_ITEM = struct.Struct(">HH")
_VALUE_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}
# codec → (record head: timestamp ms, priority, lon, lat, alt, angle, sats, speed, event id,
# [generation type,] total IO count; group count format; IO id format)
_LAYOUT = {CODEC_8: (struct.Struct(">QBiihHBHBB"), _U8, "B"),
           CODEC_8E: (struct.Struct(">QBiihHBHHH"), _U16, "H"),
           CODEC_16: (struct.Struct(">QBiihHBHHBB"), _U8, "H")}  # fmt: skip


def _read_records(codec: int, count: int, data: bytes, *, io16: bool) -> tuple[AvlRecord, ...]:
    pos, records = 2, []
    try:
        for _ in range(count):
            record, pos = _read_record(data, pos, codec, io16)
            records.append(record)
    except (struct.error, IndexError) as exc:
        raise FrameError(f"truncated Teltonika data at byte {pos}") from exc
    if pos != len(data) - 1:
        raise FrameError(f"{len(data) - 1 - pos} unexpected bytes after the records")
    return tuple(records)


def _read_record(data: bytes, pos: int, codec: int, io16: bool) -> tuple[AvlRecord, int]:
    """One record at ``pos``; struct.error/IndexError when it runs off the end."""
    head, count_fmt, id_fmt = _LAYOUT[codec]
    start = pos
    if codec == CODEC_16:
        ms, priority, lon_i, lat_i, altitude, angle, sats, speed, event, generation, _ = (
            head.unpack_from(data, pos)
        )
    else:
        ms, priority, lon_i, lat_i, altitude, angle, sats, speed, event, _ = head.unpack_from(
            data, pos
        )
        generation = None
    lon, lat = lon_i / 1e7, lat_i / 1e7
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise FrameError(f"coordinates out of range: {lat}, {lon}")
    if priority > 2 or angle > 360:
        raise FrameError(f"bad record header: priority {priority}, angle {angle}")
    pos += head.size  # the total IO count is redundant with the groups that follow
    io: dict[int, IoValue] = {}
    step = count_fmt.size
    for size in (1, 2, 4, 8, 16) if io16 else (1, 2, 4, 8):
        n = data[pos] if step == 1 else count_fmt.unpack_from(data, pos)[0]
        pos = _read_group(data, pos + step, n, id_fmt, size, io)
    if codec == CODEC_8E:
        (n,) = _U16.unpack_from(data, pos)
        pos += 2
        for _ in range(n):
            io_id, length = _NX_ITEM.unpack_from(data, pos)
            pos += 4
            if pos + length > len(data):
                raise FrameError(f"truncated variable-length IO {io_id}")
            io[io_id] = data[pos : pos + length]
            pos += length
    try:
        time = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError as exc:
        raise FrameError(f"record timestamp out of range: {ms}") from exc
    record = AvlRecord(
        time, priority, lon, lat, altitude, angle, sats, speed, event, io, generation,
        data[start:pos],
    )  # fmt: skip
    return record, pos


def _read_group(
    data: bytes, pos: int, n: int, id_fmt: str, size: int, io: dict[int, IoValue]
) -> int:
    """Read ``n`` (id, value) pairs of one value size into ``io``; return the new position."""
    if not n:
        return pos
    if size == 16:  # non-standard group: no struct code for 128-bit integers
        item = struct.Struct(">" + id_fmt)
        step = item.size + 16
        if pos + n * step > len(data):
            raise FrameError("truncated 16-byte IO group")
        for i in range(n):
            at = pos + i * step
            io[item.unpack_from(data, at)[0]] = int.from_bytes(data[at + item.size : at + step])
        return pos + n * step
    pair = _PAIRS[(id_fmt, size)]
    end = pos + n * pair.size
    if end > len(data):
        raise FrameError(f"truncated {size}-byte IO group")
    io.update(pair.iter_unpack(data[pos:end]))
    return end


_PAIRS = {
    (id_fmt, size): struct.Struct(">" + id_fmt + fmt)
    for id_fmt in ("B", "H")
    for size, fmt in _VALUE_FMT.items()
}


def _decode_commands(codec: int, count: int, data: bytes, frame: bytes) -> CommandPacket:
    reader = _Reader(data, 2)
    messages = []
    for _ in range(count):
        kind, size = reader.uint(1), reader.uint(4)
        body = _Reader(reader.take(size))
        timestamp = imei = None
        if codec == CODEC_13:
            timestamp = _EPOCH + timedelta(seconds=body.uint(4))
        elif codec == CODEC_14:
            imei = body.take(8).hex().lstrip("0") or "0"
        messages.append(CommandMessage(kind, body.take(size - body.pos), timestamp, imei))
    if reader.pos != len(data) - 1:
        raise FrameError(f"{len(data) - 1 - reader.pos} unexpected bytes after the messages")
    return CommandPacket(codec, tuple(messages), frame)


def io_json(io: dict[int, IoValue]) -> dict[str, int | str]:
    """IO map with string keys and NX byte values as hex, ready for JSON / jsonb."""
    return {str(k): (v.hex() if isinstance(v, bytes) else v) for k, v in io.items()}


_CODEC_NAMES = {c: f"0x{c:02X}" for c in (CODEC_8, CODEC_8E, CODEC_16)}


def _position(rec: AvlRecord, device_uid: str, codec: int) -> Position:
    io = rec.io
    keys, known = io_plan(tuple(io))
    attrs: dict[str, object] = {
        "priority": rec.priority,
        "event_io_id": rec.event_io_id,
        "codec": _CODEC_NAMES[codec],
        "io": io_json(io) if codec == CODEC_8E else dict(zip(keys, io.values(), strict=True)),
    }
    add_named(attrs, io, known)
    if rec.generation_type is not None:
        attrs["generation_type"] = rec.generation_type
    hdop = attrs.get("hdop")
    # positional, in Position's field order (keywords are measurably slower on this hot path)
    return Position(
        device_uid,
        rec.time,
        rec.lat,
        rec.lon,
        rec.valid,
        rec.speed_mps,
        float(rec.course_deg % 360),
        float(rec.altitude_m),
        hdop if isinstance(hdop, float) else None,
        rec.satellites,
        attrs,
        rec.raw,
        "teltonika",
    )


class TeltonikaStreamDecoder:
    """Bytes of one TCP connection in; decoded frames (or the errors, as values) out.

    ``feed`` never raises: each item is an :class:`ImeiFrame`, an :class:`AvlPacket`, a
    :class:`CommandPacket` or a :class:`~geomon.errors.DecodeError` to count (bad CRC →
    send no ack, the device will resend). Replies are the caller's job.
    """

    def __init__(self, *, expect_imei: bool = True, check_crc: bool = True) -> None:
        self.framer = TeltonikaFramer(expect_imei=expect_imei)
        self.check_crc = check_crc

    def feed(self, data: bytes) -> list[TeltonikaFrame | DecodeError]:
        out: list[TeltonikaFrame | DecodeError] = []
        for frame in self.framer.feed(data):
            try:
                out.append(decode_frame(frame, check_crc=self.check_crc))
            except DecodeError as exc:
                exc.frame = frame
                out.append(exc)
        return out
