"""NMEA 0183 protocol decoder: one :class:`~geomon.model.Position` per fix epoch.

A receiver reports one fix as several sentences sharing a UTC time (RMC gives date, speed,
course and validity; GGA altitude, satellites, HDOP and quality; GSA the 2D/3D mode; VTG
speed and course). :class:`NmeaDecoder` merges the sentences of one epoch and emits the
fix when a sentence with a *different* time arrives, or on :meth:`NmeaDecoder.flush` at end
of stream. Sentences without a time (VTG, GSA) belong to the epoch in progress.

Policies (see docs in the class docstrings):

* checksum: a wrong checksum is always rejected (:class:`~geomon.errors.ChecksumError`);
  a missing one is rejected unless ``require_checksum=False`` (some trackers omit it).
* 2-digit years (RMC): once a ZDA sentence has been seen, its 4-digit year fixes the
  century (the candidate closest to the ZDA year wins); before that, the window 1980-2079
  applies (GPS time starts in 1980). GPS week-rollover bugs are *not* corrected here.
* an epoch with no date of its own (GGA-only) takes the date of the last dated epoch if
  that was at most one hour earlier, advanced by one day when the time of day wraps past
  midnight; otherwise the epoch is dropped and counted (``stats.epochs_undated``).
* where sentences disagree, position comes from GGA > GNS > RMC > GLL, speed and course
  from RMC > VTG, altitude and satellites from GGA > GNS, HDOP from GGA > GNS > GSA.

Nothing here raises anything but :class:`~geomon.errors.DecodeError` subclasses.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from geomon.errors import DecodeError
from geomon.model import Position
from sensors.framing import LineFramer
from sensors.protocols.nmea_sentences import Report, parse_sentence

log = logging.getLogger(__name__)

__all__ = [
    "NmeaDecoder",
    "NmeaStats",
    "NmeaStreamDecoder",
    "parse_sentence",
    "split_device_prefix",
]

_DAY_US = 86_400 * 1_000_000
_MAX_DATE_CARRY_US = 3600 * 1_000_000
_PREFIX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
_POSITION_ORDER = ("GGA", "GNS", "RMC", "GLL")


def split_device_prefix(frame: bytes | str) -> tuple[str | None, bytes]:
    """Split ``"ID,$GPRMC…"`` / ``"ID $GPRMC…"`` / ``"123$GPGGA…"`` into (id, sentence).

    Trackers put their id before the ``$``; separators (space , ; : /) at its end are
    removed. Text that does not look like an id (``[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}``,
    e.g. line noise) is discarded and ``None`` returned, keeping the sentence. A frame
    without ``$`` is returned unchanged with ``None``.
    """
    raw = frame.encode("latin-1", "replace") if isinstance(frame, str) else frame
    idx = raw.find(b"$")
    if idx <= 0:
        return None, raw
    prefix = raw[:idx].decode("latin-1").strip().rstrip(",;:/ \t").strip()
    return (prefix if _PREFIX_ID.match(prefix) else None), raw[idx:]


@dataclass(slots=True)
class NmeaStats:
    """Counters for one stream (exported by the listener, printed by ``geomon decode``)."""

    accepted: int = 0  # sentences with a valid checksum and syntax (including ignored kinds)
    ignored: int = 0  # accepted but not used for fixes (GSV, proprietary …)
    rejected: int = 0  # DecodeError: checksum, syntax, field values
    epochs: int = 0  # positions emitted
    epochs_undated: int = 0  # epochs dropped: no date known yet
    epochs_without_position: int = 0  # epochs with no lat/lon (receiver had no fix)
    late_sentences: int = 0  # same time as a fix already emitted at its cycle end: dropped
    errors: dict[str, int] = field(default_factory=dict)  # rejected, by error class


@dataclass(slots=True)
class _Epoch:
    tod_us: int | None = None
    reports: list[Report] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    last_key: str | None = None  # talker+kind of the last sentence merged (cycle learning)
    emitted: bool = False

    def first(self, attr: str, kinds: tuple[str, ...]) -> Any:
        for kind in kinds:
            for r in self.reports:
                if r.kind == kind and getattr(r, attr) is not None:
                    return getattr(r, attr)
        return None

    def has(self, kind: str) -> bool:
        return any(r.kind == kind for r in self.reports)


class NmeaDecoder:
    """Merge the sentences of one device's stream into one fix per epoch.

    ``push(frame)`` takes one line (as :class:`~sensors.framing.LineFramer` returns it,
    optionally with a device-id prefix) and returns the positions completed by it (zero or
    one); it raises :class:`~geomon.errors.DecodeError` for a bad sentence and leaves its
    state untouched, so the caller counts the error and carries on. ``flush()`` emits the
    epoch in progress.

    Latency: an epoch is complete when a sentence with a new time arrives - one report
    period late, which for a tracker sending one RMC every 30 s is 30 s. So the decoder
    learns the receiver's cycle: the sentence that ended the previous epoch (say GGA, or
    RMC for an RMC-only tracker). When that sentence - if it carries a time - arrives
    again, the fix is emitted at once (``emit_on_cycle_end``). A sentence with the same time
    arriving after that is dropped and counted (``stats.late_sentences``; the cycle is
    relearned) - never emitted as a second fix for the same time.

    Sentences without a time (GSA, VTG) join the epoch in progress, or open the next one
    when the epoch in progress was already emitted at its cycle end. Known limitation: a
    receiver that sends GSA *before* its epoch's timed sentences gets that GSA's mode and
    DOPs attributed to the previous fix (common receivers - u-blox, MediaTek, Quectel,
    SiRF - send GSA after GGA/RMC). Positions carry ``device_uid`` (or the last prefix id seen when
    ``device_uid`` is empty), ``protocol="nmea"``, the epoch's sentences in ``raw`` and
    ``attrs`` with ``mode`` (1/2/3), ``fix_quality``, ``pdop``, ``vdop``, ``faa_mode``,
    ``nav_status``, ``talker`` and ``sentences``.
    """

    def __init__(
        self,
        device_uid: str = "",
        *,
        require_checksum: bool = True,
        emit_on_cycle_end: bool = True,
    ) -> None:
        self.device_uid = device_uid
        self.require_checksum = require_checksum
        self.emit_on_cycle_end = emit_on_cycle_end
        self._cycle_end: str | None = None
        self._closed_tod: int | None = None
        self.last_prefix: str | None = None
        self.stats = NmeaStats()
        self._epoch = _Epoch()
        self._zda_year: int | None = None
        self._last_date: date | None = None
        self._last_tod: int | None = None

    def push(self, frame: bytes | str) -> list[Position]:
        """Decode one line; return the positions of epochs it completed."""
        try:
            prefix, sentence = split_device_prefix(frame)
            report = parse_sentence(sentence, require_checksum=self.require_checksum)
        except DecodeError as exc:
            self.stats.rejected += 1
            name = type(exc).__name__
            self.stats.errors[name] = self.stats.errors.get(name, 0) + 1
            raise
        self.stats.accepted += 1
        if prefix is not None:
            self.last_prefix = prefix
        if report.kind not in _USED_KINDS or (
            report.kind in _TIMED_KINDS and report.tod_us is None
        ):
            # GSV, proprietary…, or an empty no-fix RMC/GGA ("$GPRMC,,V,,,,,,,,,,N"): nothing
            # to merge (a position without its time cannot be placed in an epoch)
            self.stats.ignored += 1
            return []
        return self._merge(report, sentence.strip())

    def flush(self) -> list[Position]:
        """Close the epoch in progress (end of stream, or after an idle pause)."""
        epoch, self._epoch = self._epoch, _Epoch()
        if epoch.last_key is not None:
            self._cycle_end = epoch.last_key
        if epoch.tod_us is not None:
            self._closed_tod = epoch.tod_us
        if epoch.emitted or epoch.tod_us is None or not epoch.reports:
            return []
        return self._emit(epoch)

    def _merge(self, report: Report, sentence: bytes) -> list[Position]:
        out: list[Position] = []
        key = report.talker + report.kind
        timed = report.tod_us is not None
        epoch = self._epoch
        if timed and epoch.tod_us is None and report.tod_us == self._closed_tod:
            # the rest of an epoch that flush() closed early (e.g. on an idle link)
            self.stats.late_sentences += 1
            return out
        if timed and epoch.tod_us is not None and report.tod_us != epoch.tod_us:
            out = self.flush()
            epoch = self._epoch
        elif epoch.emitted:
            if timed:  # same time as a fix already emitted at its cycle end: too late
                self.stats.late_sentences += 1
                epoch.last_key = key
                return out
            out = self.flush()  # an untimed sentence after the cycle end opens the next epoch
            epoch = self._epoch
        if timed:
            epoch.tod_us = report.tod_us
        if report.full_date is not None:
            self._zda_year = report.full_date.year
        epoch.reports.append(report)
        epoch.raw.append(sentence)
        epoch.last_key = key
        if self.emit_on_cycle_end and timed and key == self._cycle_end:
            out += self._emit(epoch)
        return out

    def _emit(self, epoch: _Epoch) -> list[Position]:
        epoch.emitted = True
        position = self._position(epoch)
        return [position] if position is not None else []

    def resolve_year(self, yy: int) -> int:
        """Full year for an RMC 2-digit year (ZDA century if seen, else 1980-2079)."""
        zda = self._zda_year
        if zda is not None:
            base = zda - zda % 100 + yy
            return min((base - 100, base, base + 100), key=lambda y: abs(y - zda))
        return 1900 + yy if yy >= 80 else 2000 + yy

    def _epoch_date(self, epoch: _Epoch) -> date | None:
        assert epoch.tod_us is not None
        zda = epoch.first("full_date", ("ZDA",))
        if zda is not None:
            return zda
        ddmmyy = epoch.first("ddmmyy", ("RMC",))
        if ddmmyy is not None:
            day, month, yy = ddmmyy
            try:
                return date(self.resolve_year(yy), month, day)
            except ValueError:
                return None
        if self._last_date is None or self._last_tod is None:
            return None
        gap = (epoch.tod_us - self._last_tod) % _DAY_US
        if gap > _MAX_DATE_CARRY_US:
            return None  # too long since the last dated epoch to trust its date
        if epoch.tod_us < self._last_tod:
            return self._last_date + timedelta(days=1)
        return self._last_date

    def _position(self, epoch: _Epoch) -> Position | None:
        assert epoch.tod_us is not None
        day = self._epoch_date(epoch)
        if day is None:
            self.stats.epochs_undated += 1
            return None
        self._last_date, self._last_tod = day, epoch.tod_us
        source = next(
            (
                r
                for k in _POSITION_ORDER
                for r in epoch.reports
                if r.kind == k and r.lat is not None
            ),
            None,
        )
        if source is None or source.lat is None or source.lon is None:
            self.stats.epochs_without_position += 1
            return None
        fix_time = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            microseconds=epoch.tod_us
        )
        self.stats.epochs += 1
        return self._build(epoch, fix_time, source.lat, source.lon)

    def _build(self, epoch: _Epoch, fix_time: datetime, lat: float, lon: float) -> Position:
        altitude = epoch.first("altitude_m", ("GGA", "GNS"))
        gsa_mode = epoch.first("gsa_mode", ("GSA",))
        valid = epoch.first("status_valid", ("RMC", "GGA", "GNS", "GLL"))
        valid = bool(valid) and gsa_mode != 1
        if gsa_mode is not None:
            mode = gsa_mode if valid else 1
        else:
            mode = (3 if altitude is not None else 2) if valid else 1
        attrs: dict[str, Any] = {
            "mode": mode,
            "fix_quality": epoch.first("quality", ("GGA",)),
            "pdop": epoch.first("pdop", ("GSA",)),
            "vdop": epoch.first("vdop", ("GSA",)),
            "faa_mode": epoch.first("faa_mode", ("RMC", "GNS", "GLL", "VTG")),
            "nav_status": epoch.first("nav_status", ("RMC", "GNS")),
            "talker": epoch.reports[0].talker,
            "sentences": [r.talker + r.kind for r in epoch.reports],
        }
        if not all(r.checksum for r in epoch.reports):
            attrs["checksum"] = "absent"
        return Position(
            device_uid=self.device_uid or self.last_prefix or "",
            fix_time=fix_time,
            lat=lat,
            lon=lon,
            valid=valid,
            speed_mps=epoch.first("speed_mps", ("RMC", "VTG")),
            course_deg=epoch.first("course_deg", ("RMC", "VTG")),
            altitude_m=altitude,
            hdop=epoch.first("hdop", ("GGA", "GNS", "GSA")),
            satellites=epoch.first("satellites", ("GGA", "GNS")),
            attrs={k: v for k, v in attrs.items() if v is not None},
            raw=b"\r\n".join(epoch.raw),
            protocol="nmea",
        )


_USED_KINDS = frozenset({"RMC", "GGA", "GNS", "GLL", "VTG", "GSA", "ZDA"})
_TIMED_KINDS = frozenset({"RMC", "GGA", "GNS", "GLL", "ZDA"})


class NmeaStreamDecoder:
    """Bytes in, positions out: a :class:`LineFramer` feeding an :class:`NmeaDecoder`.

    Never raises on bad input: rejected sentences are counted in ``stats`` (and the last
    few kept in ``recent_errors`` as ``(error, truncated frame)`` for logging).
    """

    def __init__(
        self,
        device_uid: str = "",
        *,
        require_checksum: bool = True,
        max_line_bytes: int = 1024,
    ) -> None:
        self.framer = LineFramer(max_line_bytes)
        self.decoder = NmeaDecoder(device_uid, require_checksum=require_checksum)
        self.recent_errors: list[tuple[str, bytes]] = []

    @property
    def stats(self) -> NmeaStats:
        return self.decoder.stats

    def feed(self, data: bytes) -> list[Position]:
        """Consume a chunk of the stream; return the fixes it completed."""
        return self._push_all(self.framer.feed(data))

    def flush(self) -> list[Position]:
        """End of stream: decode a last unterminated line and close the epoch."""
        return self._push_all(self.framer.flush()) + self.decoder.flush()

    def _push_all(self, frames: list[bytes]) -> list[Position]:
        out: list[Position] = []
        for frame in frames:
            try:
                out.extend(self.decoder.push(frame))
            except DecodeError as exc:
                log.debug("nmea: rejected %r: %s", frame[:48], exc)
                self.recent_errors.append((str(exc), frame[:64]))
                del self.recent_errors[:-16]
        return out
