"""Cursor-on-Target (CoT) position reports from TAK clients (ATAK, WinTAK, iTAK): a pure
decoder, one ``<event>`` XML document in, one :class:`~geomon.model.Position` (or None) out.

Only atoms (``type`` ``a-…``: friendly/hostile/unknown units, a phone's own report) are
positions; pings (``t-x-c-t``) and every other type (markers ``b-…``, chat ``b-t-f``, tasks)
are ignored, not errors. The device is the event's ``uid`` (ATAK: ``ANDROID-<id>``), the fix
time its ``start`` (else ``time``), speed and course from ``<detail><track>``, the callsign
from ``<detail><contact>``. CoT's "unknown" 9999999 for hae/ce/le means absent. Documents with
a DOCTYPE or entity declarations are refused before parsing (no entity expansion).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import datetime

from geomon.errors import DecodeError
from geomon.model import Position

UNKNOWN = 9_999_999.0
MAX_FRAME = 64 * 1024


class CotError(DecodeError):
    """A frame that is not a usable CoT event."""


def _num(el: ET.Element, name: str, *, required: bool = False) -> float | None:
    text = el.get(name)
    if text is None or text == "":
        if required:
            raise CotError(f"point has no {name}")
        return None
    try:
        value = float(text)
    except ValueError:
        raise CotError(f"{name}={text[:20]!r} is not a number") from None
    if not math.isfinite(value):
        raise CotError(f"{name} is not finite")
    return None if value >= UNKNOWN else value


def _time(text: str | None, what: str) -> datetime:
    if not text:
        raise CotError(f"event has no {what}")
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CotError(f"{what}={text[:40]!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise CotError(f"{what} has no time zone")
    return t


def decode(frame: bytes) -> Position | None:
    """One CoT event → a Position, or None for an event that is not a position report."""
    start = frame.find(b"<event")
    if start < 0:
        raise CotError("no <event> element")
    body = frame[start:]
    if b"<!DOCTYPE" in frame or b"<!ENTITY" in frame:
        raise CotError("DOCTYPE/ENTITY declarations are not accepted")
    try:
        ev = ET.fromstring(body)
    except ET.ParseError as exc:
        raise CotError(f"not well-formed XML: {exc}") from None
    if ev.tag != "event":
        raise CotError(f"root element is <{ev.tag}>, not <event>")
    cot_type = ev.get("type", "")
    if not cot_type.startswith("a-"):
        return None  # pings, markers, chat…: not positions
    uid = (ev.get("uid") or "").strip()
    if not uid or len(uid) > 128:
        raise CotError("event uid is missing or longer than 128 characters")
    point = ev.find("point")
    if point is None:
        raise CotError("event has no <point>")
    lat, lon = _num(point, "lat", required=True), _num(point, "lon", required=True)
    if lat is None or lon is None:  # CoT's 9999999 "unknown": no fix to store
        raise CotError("point has an unknown (9999999) lat or lon")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CotError(f"({lat}, {lon}) is not a latitude/longitude")
    fix_time = _time(ev.get("start") or ev.get("time"), "start")
    attrs: dict[str, object] = {"cot_type": cot_type}
    how = ev.get("how")
    if how:
        attrs["how"] = how[:16]
    ce, le = _num(point, "ce"), _num(point, "le")
    if ce is not None:
        attrs["ce_m"] = ce
    if le is not None:
        attrs["le_m"] = le
    stale = ev.get("stale")
    if stale:
        attrs["stale"] = _time(stale, "stale").isoformat()
    speed = course = None
    detail = ev.find("detail")
    if detail is not None:
        track = detail.find("track")
        if track is not None:
            speed, course = _num(track, "speed"), _num(track, "course")
            if speed is not None and speed < 0:
                speed = None
            if course is not None:
                course %= 360.0
        contact = detail.find("contact")
        if contact is not None and contact.get("callsign"):
            attrs["callsign"] = contact.get("callsign", "")[:64]
        group = detail.find("__group")
        if group is not None and group.get("name"):
            attrs["team"] = group.get("name", "")[:64]
    return Position(
        device_uid=uid,
        fix_time=fix_time,
        lat=lat,
        lon=lon,
        speed_mps=speed,
        course_deg=course,
        altitude_m=_num(point, "hae"),
        attrs=attrs,
        raw=bytes(body[:2048]),
        protocol="cot",
    )
