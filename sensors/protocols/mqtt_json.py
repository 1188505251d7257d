"""MQTT position payloads (pure): geomon's JSON and OwnTracks ``_type: location``.

Topics: ``geomon/<agency>/<device>/position`` (either payload form) and
``owntracks/<user>/<device>`` (OwnTracks' default). The topic decides the device: its device
segment for ``geomon/...`` and ``<user>/<device>`` for OwnTracks (``owntracks/bob/iphone-a``
is not alice's ``iphone-a``). A payload ``device`` naming another device is refused
(DeviceMismatch), so one client cannot write as another past the broker's topic ACL.
geomon JSON::

    {"time": "2026-11-28T10:15:00Z" | epoch s | epoch ms, "lat": 42.87, "lon": 74.6,
     "speed_mps": 4.2, "course_deg": 90, "altitude_m": 800, "hdop": 0.9, "satellites": 9,
     "valid": true, "attributes": {...}}

OwnTracks: ``tst`` epoch seconds, ``vel`` km/h, ``cog`` degrees, ``alt`` m, ``acc`` m
(accuracy → attrs.accuracy_m), ``batt`` %. Other ``_type`` values (transition, waypoint…)
carry no fix and decode to ``[]``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from geomon.errors import FrameError
from geomon.model import Position
from sensors.protocols import strict_json

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DeviceMismatch(FrameError):
    """The payload names a device other than the one its topic (and broker ACL) names."""


def topic_device(topic: str) -> tuple[str, str] | None:
    """(kind, device uid) for a topic we follow: kind is position or observation."""
    parts = topic.split("/")
    if not all(parts):
        return None
    if len(parts) == 4 and parts[0] == "geomon" and parts[3] in ("position", "observation"):
        return parts[3], parts[2]
    if len(parts) == 3 and parts[0] == "owntracks":
        return "position", f"{parts[1]}/{parts[2]}"  # keyed by user AND device
    return None


def _time(value: Any) -> datetime:
    if isinstance(value, bool) or value is None:
        raise FrameError(f"bad or missing time: {value!r:.40}")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 2**31 - 1 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise FrameError(f"time out of range: {value!r:.40}") from exc
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise FrameError(f"bad time {value!r:.40}") from exc
    if t.tzinfo is None:
        raise FrameError("time needs a UTC offset")
    return t.astimezone(UTC)


def _num(doc: dict[str, Any], key: str, scale: float = 1.0) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FrameError(f"{key!r} must be a number, got {value!r:.40}")
    return float(value) * scale


def decode_position_payload(topic_uid: str, payload: bytes) -> list[Position]:
    """Positions in one MQTT payload (an object or a list of objects)."""
    try:
        doc = strict_json.loads(payload)
    except strict_json.UnstorableJson as exc:
        raise FrameError(f"payload has JSON the database cannot store: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"payload is not JSON: {exc}") from exc
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise FrameError("a position must be a JSON object")
        p = _owntracks(topic_uid, item) if "_type" in item else _geomon(topic_uid, item)
        if p is not None:
            out.append(p)
    return out


def _latlon(item: dict[str, Any]) -> tuple[float, float]:
    lat, lon = _num(item, "lat"), _num(item, "lon")
    if lat is None or lon is None:
        raise FrameError("'lat' and 'lon' are required")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise FrameError(f"'lat'/'lon' out of range: {lat!r:.40}, {lon!r:.40}")
    return lat, lon


def _geomon(uid: str, item: dict[str, Any]) -> Position:
    lat, lon = _latlon(item)
    attrs = item.get("attributes", {})
    if not isinstance(attrs, dict):
        raise FrameError("'attributes' must be an object")
    named = item.get("device")
    if named not in (None, "", uid):
        raise DeviceMismatch(f"payload names device {named!r:.40}, the topic {uid!r:.40}")
    sats = _num(item, "satellites")
    return Position(
        uid,
        _time(item.get("time")),
        lat,
        lon,
        valid=bool(item.get("valid", True)),
        speed_mps=_num(item, "speed_mps"),
        course_deg=_num(item, "course_deg"),
        altitude_m=_num(item, "altitude_m"),
        hdop=_num(item, "hdop"),
        satellites=None if sats is None else int(sats),
        attrs=attrs,
        protocol="mqtt",
    )


def _owntracks(uid: str, item: dict[str, Any]) -> Position | None:
    if item.get("_type") != "location":
        return None
    lat, lon = _latlon(item)
    attrs: dict[str, Any] = {"owntracks": True}
    for key, name in (
        ("acc", "accuracy_m"),
        ("batt", "battery_level_pct"),
        ("tid", "tid"),
        ("t", "trigger"),
        ("conn", "connection"),
    ):
        if key in item:
            attrs[name] = item[key]
    return Position(
        uid,
        _time(item.get("tst")),
        lat,
        lon,
        speed_mps=_num(item, "vel", 1 / 3.6),
        course_deg=_num(item, "cog"),
        altitude_m=_num(item, "alt"),
        attrs=attrs,
        protocol="owntracks",
    )
