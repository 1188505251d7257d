"""Parse single NMEA 0183 sentences into :class:`Report` values (pure, no state).

Supported: RMC, GGA, GNS, GLL, VTG, GSA, ZDA from any two-letter talker (GP, GN, GL, GA,
GB, GQ, BD…), including the NMEA 4.1 additions (RMC navigational status, GSA system id,
GNS per-constellation mode characters). Other valid sentences (GSV, proprietary ``$P…``)
parse to a ``Report`` with only ``kind`` and ``talker`` set, so callers can count them.

Checksum: XOR of the bytes strictly between ``$`` and ``*``, two hex digits after ``*``.
A wrong checksum always raises :class:`ChecksumError`; a *missing* one is accepted only
when the caller passes ``require_checksum=False`` (some trackers omit it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from geomon.errors import ChecksumError, FrameError

KNOT_MPS = 1852.0 / 3600.0
KMH_MPS = 1000.0 / 3600.0

_ADDRESS = re.compile(r"^(?:P[A-Z0-9]{1,7}|[A-Z][A-Z0-9][A-Z]{3})$")
_CHECKSUM = re.compile(r"^[0-9A-Fa-f]{2}$")
_USED = frozenset({"RMC", "GGA", "GNS", "GLL", "VTG", "GSA", "ZDA"})


@dataclass(slots=True)
class Report:
    """What one sentence says; ``None`` means the sentence does not carry that value."""

    kind: str
    talker: str
    tod_us: int | None = None  # UTC time of day in microseconds
    ddmmyy: tuple[int, int, int] | None = None  # RMC date, 2-digit year unresolved
    full_date: date | None = None  # ZDA date with its 4-digit year
    lat: float | None = None
    lon: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None
    altitude_m: float | None = None
    satellites: int | None = None
    hdop: float | None = None
    pdop: float | None = None
    vdop: float | None = None
    quality: int | None = None  # GGA fix quality 0..8
    status_valid: bool | None = None  # RMC/GLL A/V, GGA quality>0, GNS not all 'N'
    gsa_mode: int | None = None  # 1 no fix, 2 2D, 3 3D
    faa_mode: str | None = None  # mode indicator(s): A D E F M N P R S
    nav_status: str | None = None  # NMEA 4.1 RMC/GNS: S C U V
    checksum: bool = True  # False when the sentence had none (and that was allowed)
    extra: dict[str, object] = field(default_factory=dict)


def nmea_checksum(body: str) -> int:
    """XOR of the characters of ``body`` (the text between ``$`` and ``*``)."""
    value = 0
    for ch in body.encode("ascii"):
        value ^= ch
    return value


def split_sentence(text: str, *, require_checksum: bool = True) -> tuple[list[str], bool]:
    """Check delimiters and checksum of ``$…*hh``; return (fields, checksum_present)."""
    text = text.strip()
    if not text.startswith("$"):
        raise FrameError("NMEA sentence does not start with '$'")
    star = text.rfind("*")
    if star == -1:
        if require_checksum:
            raise ChecksumError("NMEA sentence has no *hh checksum")
        return text[1:].split(","), False
    body, given = text[1:star], text[star + 1 :]
    if not _CHECKSUM.match(given):
        raise ChecksumError(f"malformed NMEA checksum field {given[:8]!r}")
    if nmea_checksum(body) != int(given, 16):
        raise ChecksumError(
            f"NMEA checksum mismatch: field {given.upper()}, computed {nmea_checksum(body):02X}"
        )
    return body.split(","), True


def parse_sentence(line: bytes | str, *, require_checksum: bool = True) -> Report:
    """Validate and parse one sentence (no prefix, no line end) into a :class:`Report`."""
    if isinstance(line, bytes):
        try:
            line = line.decode("ascii")
        except UnicodeDecodeError as exc:
            raise FrameError("NMEA sentence contains non-ASCII bytes") from exc
    if not line.isascii() or not line.isprintable():
        raise FrameError("NMEA sentence contains control characters")
    fields, has_sum = split_sentence(line, require_checksum=require_checksum)
    address = fields[0]
    if not _ADDRESS.match(address):
        raise FrameError(f"bad NMEA address field {address[:10]!r}")
    if address.startswith("P"):
        return Report(kind="P", talker=address, checksum=has_sum)
    talker, kind = address[:2], address[2:]
    report = Report(kind=kind, talker=talker, checksum=has_sum)
    if kind in _USED:
        try:
            _PARSERS[kind](report, fields[1:])
        except (ValueError, IndexError) as exc:
            raise FrameError(f"bad {address} field: {exc}") from exc
    return report


# --- field helpers -------------------------------------------------------------------


def _get(f: list[str], i: int) -> str:
    return f[i].strip() if i < len(f) else ""


def _float(s: str) -> float | None:
    if not s:
        return None
    value = float(s)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {s!r}")
    return value


def _int(s: str) -> int | None:
    return int(s) if s else None


def _tod_us(s: str) -> int | None:
    """``hhmmss[.sss]`` → microseconds since midnight."""
    if not s:
        return None
    whole, _, frac = s.partition(".")
    if len(whole) != 6 or not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"bad time {s!r}")
    hh, mm, ss = int(whole[:2]), int(whole[2:4]), int(whole[4:6])
    if hh > 23 or mm > 59 or ss > 59:
        raise ValueError(f"time out of range {s!r}")
    micro = int((frac + "000000")[:6]) if frac else 0
    return ((hh * 60 + mm) * 60 + ss) * 1_000_000 + micro


def _coord(value: str, hemi: str, max_deg: int) -> float | None:
    """``(d)ddmm.mmmm`` + hemisphere → signed decimal degrees."""
    if not value:
        return None
    whole, _, frac = value.partition(".")
    if len(whole) < 3 or not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"bad coordinate {value!r}")
    degrees = int(whole[:-2])
    minutes = float(whole[-2:] + "." + (frac or "0"))
    if minutes >= 60.0:
        raise ValueError(f"minutes >= 60 in {value!r}")
    result = degrees + minutes / 60.0
    if result > max_deg:
        raise ValueError(f"coordinate out of range {value!r}")
    if hemi in ("S", "W"):
        return -result
    if hemi in ("N", "E"):
        return result
    raise ValueError(f"bad hemisphere {hemi!r}")


def _latlon(r: Report, f: list[str], i: int) -> None:
    """Fields i..i+3 are lat, N/S, lon, E/W."""
    lat = _coord(_get(f, i), _get(f, i + 1), 90)
    lon = _coord(_get(f, i + 2), _get(f, i + 3), 180)
    if (lat is None) != (lon is None):
        raise ValueError("latitude without longitude")
    r.lat, r.lon = lat, lon


def _course(s: str) -> float | None:
    value = _float(s)
    if value is not None and not 0.0 <= value <= 360.0:
        raise ValueError(f"course out of range {s!r}")
    return None if value is None else value % 360.0


def _speed(s: str, unit: float) -> float | None:
    value = _float(s)
    if value is not None and value < 0:
        raise ValueError(f"negative speed {s!r}")
    return None if value is None else value * unit


# --- sentence parsers ------------------------------------------------------------------


def _rmc(r: Report, f: list[str]) -> None:
    r.tod_us = _tod_us(_get(f, 0))
    r.status_valid = _get(f, 1) == "A"
    _latlon(r, f, 2)
    r.speed_mps = _speed(_get(f, 6), KNOT_MPS)
    r.course_deg = _course(_get(f, 7))
    d = _get(f, 8)
    if d:
        if len(d) != 6 or not d.isdigit():
            raise ValueError(f"bad date {d!r}")
        r.ddmmyy = (int(d[:2]), int(d[2:4]), int(d[4:6]))
    r.faa_mode = _get(f, 11) or None
    r.nav_status = _get(f, 12) or None
    if r.faa_mode == "N":
        r.status_valid = False


def _gga(r: Report, f: list[str]) -> None:
    r.tod_us = _tod_us(_get(f, 0))
    _latlon(r, f, 1)
    r.quality = _int(_get(f, 5))
    r.satellites = _int(_get(f, 6))
    r.hdop = _float(_get(f, 7))
    r.altitude_m = _float(_get(f, 8))
    if r.quality is not None:
        r.status_valid = r.quality > 0


def _gns(r: Report, f: list[str]) -> None:
    r.tod_us = _tod_us(_get(f, 0))
    _latlon(r, f, 1)
    modes = _get(f, 5)
    r.faa_mode = modes or None
    if modes:
        r.status_valid = any(c not in "NV" for c in modes)
    r.satellites = _int(_get(f, 6))
    r.hdop = _float(_get(f, 7))
    r.altitude_m = _float(_get(f, 8))
    r.nav_status = _get(f, 12) or None


def _gll(r: Report, f: list[str]) -> None:
    _latlon(r, f, 0)
    r.tod_us = _tod_us(_get(f, 4))
    r.status_valid = _get(f, 5) == "A"
    r.faa_mode = _get(f, 6) or None
    if r.faa_mode == "N":
        r.status_valid = False


def _vtg(r: Report, f: list[str]) -> None:
    if _get(f, 1) == "T" or _get(f, 3) == "M" or _get(f, 5) == "N":
        # NMEA 2.3+: course,T,course,M,knots,N,kmh,K,mode
        r.course_deg = _course(_get(f, 0))
        knots, kmh = _get(f, 4), _get(f, 6)
        r.faa_mode = _get(f, 8) or None
    else:
        # pre-2.3 form without unit letters: course_true,course_mag,knots,kmh
        r.course_deg = _course(_get(f, 0))
        knots, kmh = _get(f, 2), _get(f, 3)
    r.speed_mps = _speed(knots, KNOT_MPS) if knots else _speed(kmh, KMH_MPS)


def _gsa(r: Report, f: list[str]) -> None:
    fix = _int(_get(f, 1))
    if fix is not None and fix not in (1, 2, 3):
        raise ValueError(f"bad GSA fix type {fix}")
    r.gsa_mode = fix
    r.pdop = _float(_get(f, 14))
    r.hdop = _float(_get(f, 15))
    r.vdop = _float(_get(f, 16))


def _zda(r: Report, f: list[str]) -> None:
    r.tod_us = _tod_us(_get(f, 0))
    day, month, year = _int(_get(f, 1)), _int(_get(f, 2)), _int(_get(f, 3))
    if day is not None and month is not None and year is not None:
        if year < 1980:
            raise ValueError(f"ZDA year {year} before GPS epoch")
        r.full_date = date(year, month, day)


_PARSERS = {
    "RMC": _rmc,
    "GGA": _gga,
    "GNS": _gns,
    "GLL": _gll,
    "VTG": _vtg,
    "GSA": _gsa,
    "ZDA": _zda,
}
