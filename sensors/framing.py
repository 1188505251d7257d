"""Sans-I/O frame decoders: bytes in (any chunking), whole frames out, resync on garbage.

A transport calls ``feed(chunk)`` with whatever it read and gets back the complete frames
found so far; ``flush()`` at end of stream returns a trailing frame that had no terminator.
The output never depends on how the byte stream was chunked. Nothing here raises on bad
input: garbage is skipped and counted in ``stats`` (a decode error is data, DESIGN.md §4).

* :class:`LineFramer` - NMEA 0183 and other line-oriented text (BCP JSON lines).
* :class:`TeltonikaFramer` - Teltonika TCP: the IMEI handshake frame, then AVL packets.
* :class:`CotFramer` - Cursor-on-Target XML over TCP (TAK): one frame per ``</event>``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

_RE_TERM = re.compile(rb"[\r\n\x00]")
_RE_TERM_OR_DOLLAR = re.compile(rb"[\r\n\x00$]")


@dataclass(slots=True)
class FramerStats:
    """What a framer saw besides good frames (exported as metrics by the listener)."""

    frames: int = 0
    overlong_dropped: int = 0
    nul_bytes: int = 0
    garbage_bytes: int = 0
    oversize_frames: int = 0


class LineFramer:
    """Split a byte stream into lines; built for NMEA 0183 but usable for any text lines.

    * CR, LF, CRLF and NUL all end a line; empty lines are skipped (NULs are counted).
    * A line longer than ``max_line_bytes`` is dropped and counted; the framer then skips
      to the next line end - or, with ``split_on_dollar``, to the next ``$`` - so the next
      good sentence is not lost.
    * ``split_on_dollar`` (default): NMEA reserves ``$`` as the start delimiter, so a ``$``
      inside a frame that already holds a ``$`` starts a new frame. This splits sentences
      glued without a line break (``...*4A$GPGGA,...``) and also recovers the sentence
      after a truncated one. Text before the first ``$`` stays on the frame: trackers put
      a device id there (see ``nmea.split_device_prefix``). Turn it off for JSON lines.
    """

    def __init__(self, max_line_bytes: int = 1024, *, split_on_dollar: bool = True) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self.max_line_bytes = max_line_bytes
        self.split_on_dollar = split_on_dollar
        self.stats = FramerStats()
        self._buf = bytearray()
        self._has_dollar = False
        self._discarding = False
        self._re = _RE_TERM_OR_DOLLAR if split_on_dollar else _RE_TERM

    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data``; return the lines it completed (terminators removed)."""
        out: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            m = self._re.search(data, pos)
            end = m.start() if m else n
            if end > pos:
                self._append(data[pos:end])
            if m is None:
                break
            delim = data[end]
            if delim == 0x24:  # '$'
                self._on_dollar(out)
            else:
                if delim == 0:
                    self.stats.nul_bytes += 1
                self._end_frame(out)
            pos = end + 1
        return out

    def flush(self) -> list[bytes]:
        """End of stream: return the unterminated last line, if any."""
        out: list[bytes] = []
        self._end_frame(out)
        return out

    def _append(self, chunk: bytes) -> None:
        if self._discarding:
            return
        if len(self._buf) + len(chunk) > self.max_line_bytes:
            self.stats.overlong_dropped += 1
            log.debug("line framer: dropped an over-long line (> %d bytes)", self.max_line_bytes)
            self._buf.clear()
            self._has_dollar = False
            self._discarding = True
            return
        self._buf += chunk

    def _on_dollar(self, out: list[bytes]) -> None:
        if self._discarding:
            self._discarding = False
        elif self._has_dollar:
            self._end_frame(out)
        self._append(b"$")
        self._has_dollar = not self._discarding

    def _end_frame(self, out: list[bytes]) -> None:
        if self._buf and not self._discarding:
            out.append(bytes(self._buf))
            self.stats.frames += 1
        self._buf.clear()
        self._has_dollar = False
        self._discarding = False


# --- Teltonika -------------------------------------------------------------------------

TELTONIKA_MAX_DATA_LENGTH = 64 * 1024
"""Largest AVL data field we accept; FMB devices send at most a few kB per packet."""

_PREAMBLE = b"\x00\x00\x00\x00"
TELTONIKA_CODECS = frozenset({0x07, 0x08, 0x8E, 0x10, 0x0C, 0x0D, 0x0E, 0x0F})
"""Codec ids that may start an AVL data field (GH3000, 8, 8E, 16, 12, 13, 14, 15)."""


class TeltonikaFramer:
    """Frame Teltonika TCP: ``[2-byte len][ASCII IMEI]`` then ``[0000][len][data][crc]``.

    The first frame of a connection is the IMEI handshake (``expect_imei=True``); every
    later frame is a packet ``00000000 | data length (u32 BE) | data | CRC (u32 BE)``,
    returned whole (preamble to CRC) for ``teltonika.decode_packet``. On bytes that are not
    a preamble the framer skips forward to the next ``00000000`` and counts the garbage; a
    length above ``max_data_length`` is counted in ``stats.oversize_frames`` and skipped the
    same way. A candidate whose first data byte is not a known codec id, or whose record
    counts before and after the records differ, is not a packet: the framer slides one byte
    on (this is what resyncs after stray zero bytes). CRC checking belongs to the protocol
    decoder, so a bad-CRC packet is still delivered and the caller can refuse to ack it.
    """

    def __init__(
        self,
        *,
        expect_imei: bool = True,
        max_data_length: int = TELTONIKA_MAX_DATA_LENGTH,
    ) -> None:
        self.expect_imei = expect_imei
        self.max_data_length = max_data_length
        self.stats = FramerStats()
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data``; return the complete frames it finished."""
        self._buf += data
        out: list[bytes] = []
        while True:
            frame = self._imei_frame() if self.expect_imei else self._packet_frame()
            if frame is None:
                return out
            if frame:
                out.append(frame)
                self.stats.frames += 1

    def flush(self) -> list[bytes]:
        """End of stream: an incomplete frame is dropped and counted as garbage."""
        self.stats.garbage_bytes += len(self._buf)
        self._buf.clear()
        return []

    @property
    def pending(self) -> int:
        """Bytes buffered towards an incomplete frame."""
        return len(self._buf)

    def _imei_frame(self) -> bytes | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        length = int.from_bytes(buf[:2], "big")
        if length == 0 and buf[:4] == _PREAMBLE[: len(buf[:4])]:
            # a device that skipped the handshake (or a reconnect mid-session): packets follow
            self.expect_imei = False
            return b""
        if not 1 <= length <= 64:
            self._skip(1)
            return b""
        if len(buf) < 2 + length:
            return None
        frame = bytes(buf[: 2 + length])
        del buf[: 2 + length]
        self.expect_imei = False
        return frame

    def _packet_frame(self) -> bytes | None:
        buf = self._buf
        if len(buf) < 4:
            return None if _PREAMBLE.startswith(bytes(buf)) else self._resync()
        if buf[:4] != _PREAMBLE:
            return self._resync()
        if len(buf) < 8:
            return None
        length = int.from_bytes(buf[4:8], "big")
        if length == 0:
            # a run of zero bytes: the real preamble may start one byte later
            self._skip(1)
            return b""
        if length > self.max_data_length:
            # no real packet can start inside these 4 zero bytes (its length would be < 256)
            self.stats.oversize_frames += 1
            log.debug("teltonika framer: data length %d too large, resyncing", length)
            self._skip(4)
            return b""
        if len(buf) >= 9 and buf[8] not in TELTONIKA_CODECS:
            # zero bytes before a real preamble shift the length field: not a packet here
            self._skip(1)
            return b""
        total = 8 + length + 4
        if len(buf) < total:
            return None
        if length < 3 or buf[9] != buf[8 + length - 1]:
            # record counts before and after the records disagree: mis-framed, slide on
            self._skip(1)
            return b""
        frame = bytes(buf[:total])
        del buf[:total]
        return frame

    def _resync(self) -> bytes:
        """Skip to the next possible preamble start (a run of zero bytes)."""
        idx = self._buf.find(b"\x00", 1)
        self._skip(idx if idx > 0 else len(self._buf))
        return b""

    def _skip(self, n: int) -> None:
        self.stats.garbage_bytes += n
        del self._buf[:n]


class CotFramer:
    """Split a TAK/CoT XML stream into events: a frame ends with ``</event>``.

    TAK clients send events back to back, each with or without an XML declaration and with
    any whitespace between them. Bytes before an event's ``<`` are skipped. A frame longer
    than ``max_frame_bytes`` without its ``</event>`` is dropped and counted, and the framer
    skips to the next ``</event>``. TAK's binary "protocol 1" (0xBF magic, protobuf) is not
    XML: it comes out as garbage the decoder refuses.
    """

    END = b"</event>"

    def __init__(self, max_frame_bytes: int = 64 * 1024) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.stats = FramerStats()
        self._buf = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            end = self._buf.find(self.END)
            if end < 0:
                if len(self._buf) > self.max_frame_bytes:
                    keep = len(self.END) - 1  # a terminator may straddle the next read
                    if not self._discarding:
                        self.stats.oversize_frames += 1
                    self.stats.garbage_bytes += len(self._buf) - keep
                    del self._buf[: len(self._buf) - keep]
                    self._discarding = True
                return out
            stop = end + len(self.END)
            frame = bytes(self._buf[:stop])
            del self._buf[:stop]
            if self._discarding or stop > self.max_frame_bytes:  # (the tail of) an oversize event
                if not self._discarding:
                    self.stats.oversize_frames += 1
                self._discarding = False
                self.stats.garbage_bytes += len(frame)
                continue
            first = frame.find(b"<")
            if first > 0:
                self.stats.garbage_bytes += len(frame[:first].strip())
            frame = frame[max(first, 0) :]
            self.stats.frames += 1
            out.append(frame)

    def flush(self) -> list[bytes]:
        """An unterminated event at end of stream is incomplete: counted, not returned."""
        if self._buf.strip():
            self.stats.garbage_bytes += len(self._buf.strip())
        self._buf.clear()
        return []
