"""Writing NMEA 0183 RMC and GGA sentences (for the simulator and replay tests)."""

from __future__ import annotations

from datetime import datetime
from functools import reduce

KNOTS_PER_MPS = 1 / 0.514444


def checksum(body: str) -> str:
    """XOR of the bytes between '$' and '*', as two hex digits."""
    return f"{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


def sentence(body: str) -> str:
    return f"${body}*{checksum(body)}"


def _lat(lat: float) -> tuple[str, str]:
    a = abs(lat)
    deg = int(a)
    return f"{deg:02d}{(a - deg) * 60:07.4f}", "N" if lat >= 0 else "S"


def _lon(lon: float) -> tuple[str, str]:
    a = abs(lon)
    deg = int(a)
    return f"{deg:03d}{(a - deg) * 60:07.4f}", "E" if lon >= 0 else "W"


def rmc(
    t: datetime, lat: float, lon: float, speed_mps: float, course_deg: float, talker: str = "GP"
) -> str:
    la, ns = _lat(lat)
    lo, ew = _lon(lon)
    body = (
        f"{talker}RMC,{t:%H%M%S}.{t.microsecond // 10000:02d},A,{la},{ns},{lo},{ew},"
        f"{speed_mps * KNOTS_PER_MPS:.2f},{course_deg:.1f},{t:%d%m%y},,,A"
    )
    return sentence(body)


def gga(
    t: datetime,
    lat: float,
    lon: float,
    altitude_m: float,
    satellites: int = 9,
    hdop: float = 0.9,
    talker: str = "GP",
) -> str:
    la, ns = _lat(lat)
    lo, ew = _lon(lon)
    body = (
        f"{talker}GGA,{t:%H%M%S}.{t.microsecond // 10000:02d},{la},{ns},{lo},{ew},1,"
        f"{satellites:02d},{hdop:.1f},{altitude_m:.1f},M,-20.0,M,,"
    )
    return sentence(body)
