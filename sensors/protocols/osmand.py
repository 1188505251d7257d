"""OsmAnd protocol (what the Traccar Client phone app sends) → Positions. Pure.

Three forms of one HTTP request:

* query string: ``GET /?id=…&lat=…&lon=…&timestamp=…&speed=…&bearing=…&altitude=…``
  (``speed`` in **knots**, as OsmAnd and Traccar define it);
* the same parameters as an ``application/x-www-form-urlencoded`` POST body;
* JSON body (Traccar Client ≥ 9, transistorsoft SDK): ``{"device_id": …, "location":
  {"timestamp": ISO-8601, "coords": {"latitude", "longitude", "speed" (**m/s**, -1 unknown),
  "heading" (-1 unknown), "altitude", "accuracy"}, "battery": {"level": 0..1}, …}}``;
  ``location`` may also be a list (batch upload).

Timestamps: numbers are seconds, or milliseconds when above 2^31-1; strings are ISO-8601
(naive = UTC). A request without a timestamp uses ``received_at`` from the caller (this
module never reads the clock) and says so in ``attrs["time_source"]``. A request without
coordinates (cell/Wi-Fi only) yields no position: the caller answers 200 so the phone drops
it. A request without a device id, or with unusable values, raises
:class:`~geomon.errors.DecodeError` (answer 400).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from geomon.errors import DecodeError, FrameError
from geomon.model import Position
from sensors.protocols import strict_json

KNOT_MPS = 1852.0 / 3600.0
_MS_THRESHOLD = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SPACED_OFFSET = re.compile(r"(?<=\d) (\d\d:?\d\d)$")
_CORE_PARAMS = frozenset(
    {"id", "deviceid", "timestamp", "lat", "lon", "location", "speed", "bearing", "heading",
     "altitude", "accuracy", "hdop", "batt", "battery", "valid", "cell", "wifi"}
)  # fmt: skip


def decode_osmand(
    method: str,
    query: str,
    content_type: str | None,
    body: bytes,
    *,
    received_at: datetime | None = None,
) -> list[Position]:
    """Decode one OsmAnd request; ``query`` is the raw query string without ``?``."""
    try:
        method = method.upper()
        if method not in ("GET", "POST"):
            raise FrameError(f"OsmAnd: method {method} not accepted")
        ctype = (content_type or "").split(";")[0].strip().lower()
        if body and ("json" in ctype or (not ctype and body.lstrip()[:1] in (b"{", b"["))):
            return _decode_json(body, received_at)
        params = _params(query)
        if body:
            params += _params(body.decode("utf-8"))
        return _decode_params(params, received_at)
    except DecodeError:
        raise
    except (ValueError, TypeError, AttributeError, OverflowError, KeyError) as exc:
        raise FrameError(f"OsmAnd: bad request: {exc}") from exc


def _params(text: str) -> list[tuple[str, str]]:
    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    if any("\x00" in k or "\x00" in v for k, v in pairs):
        raise FrameError("OsmAnd: NUL character (%00) in a parameter")
    return pairs


def _decode_params(pairs: list[tuple[str, str]], received_at: datetime | None) -> list[Position]:
    p = {k.lower(): v for k, v in pairs}
    uid = p.get("id") or p.get("deviceid")
    if not uid:
        raise FrameError("OsmAnd: no id/deviceid parameter")
    lat, lon = _float(p.get("lat")), _float(p.get("lon"))
    if (lat is None or lon is None) and p.get("location"):
        lat_s, _, lon_s = p["location"].partition(",")
        lat, lon = _float(lat_s), _float(lon_s)
    if lat is None or lon is None:
        return []  # cell/Wi-Fi only: nothing we can place
    attrs: dict[str, Any] = {}
    fix_time = _time(p.get("timestamp"), received_at, attrs)
    speed = _float(p.get("speed"))
    battery = _float(p.get("batt") or p.get("battery"))
    if battery is not None:
        attrs["battery_level_pct"] = battery
    accuracy = _float(p.get("accuracy"))
    if accuracy is not None:
        attrs["accuracy_m"] = accuracy
    for key, value in pairs:
        if key.lower() not in _CORE_PARAMS:
            attrs[key] = _scalar(value)
    return [
        _position(
            uid,
            fix_time,
            lat,
            lon,
            valid=p.get("valid", "true").lower() not in ("false", "0"),
            speed_mps=None if speed is None or speed < 0 else speed * KNOT_MPS,
            course_deg=_course(_float(p.get("bearing") or p.get("heading"))),
            altitude_m=_float(p.get("altitude")),
            hdop=_float(p.get("hdop")),
            attrs=attrs,
        )
    ]


def _decode_json(body: bytes, received_at: datetime | None) -> list[Position]:
    try:
        doc = strict_json.loads(body)
    except strict_json.UnstorableJson as exc:
        raise FrameError(f"OsmAnd: JSON the database cannot store: {exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FrameError(f"OsmAnd: body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise FrameError("OsmAnd: JSON body is not an object")
    uid = doc.get("device_id") or doc.get("id") or doc.get("deviceid")
    if not uid or not isinstance(uid, str | int):
        raise FrameError("OsmAnd: JSON body has no device_id")
    locations = doc.get("location")
    if isinstance(locations, dict):
        locations = [locations]
    if not isinstance(locations, list):
        raise FrameError("OsmAnd: JSON body has no location")
    out = []
    for loc in locations:
        position = _json_location(str(uid), loc, received_at)
        if position is not None:
            out.append(position)
    return out


def _json_location(uid: str, loc: Any, received_at: datetime | None) -> Position | None:
    if not isinstance(loc, dict) or not isinstance(loc.get("coords", {}), dict):
        raise FrameError("OsmAnd: location is not an object")
    coords = loc.get("coords", {})
    lat, lon = _float(coords.get("latitude")), _float(coords.get("longitude"))
    if lat is None or lon is None:
        return None
    attrs: dict[str, Any] = {}
    fix_time = _time(loc.get("timestamp"), received_at, attrs)
    speed = _float(coords.get("speed"))
    accuracy = _float(coords.get("accuracy"))
    if accuracy is not None and accuracy >= 0:
        attrs["accuracy_m"] = accuracy
    battery_doc = loc.get("battery")
    battery: dict[str, Any] = battery_doc if isinstance(battery_doc, dict) else {}
    level = _float(battery.get("level"))
    if level is not None and level >= 0:
        attrs["battery_level_pct"] = round(level * 100, 3)
    if "is_charging" in battery:
        attrs["charging"] = bool(battery["is_charging"])
    activity = loc.get("activity")
    if isinstance(activity, dict) and "type" in activity:
        attrs["activity"] = str(activity["type"])
    for key, name in (("event", "event"), ("is_moving", "motion"), ("odometer", "odometer_m")):
        if key in loc and isinstance(loc[key], str | int | float | bool):
            attrs[name] = loc[key]
    if loc.get("mock"):
        attrs["mock"] = True
    return _position(
        uid,
        fix_time,
        lat,
        lon,
        valid=True,
        speed_mps=None if speed is None or speed < 0 else speed,
        course_deg=_course(_float(coords.get("heading"))),
        altitude_m=_float(coords.get("altitude")),
        hdop=None,
        attrs=attrs,
    )


def _position(uid: str, fix_time: datetime, lat: float, lon: float, **kw: Any) -> Position:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise FrameError(f"OsmAnd: coordinates out of range: {lat}, {lon}")
    return Position(device_uid=uid, fix_time=fix_time, lat=lat, lon=lon, protocol="osmand", **kw)


def _float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if not isinstance(value, str | int | float):
        raise FrameError(f"OsmAnd: not a number: {str(value)[:20]!r}")
    result = float(value)
    if not math.isfinite(result):
        raise FrameError(f"OsmAnd: not a finite number: {str(value)[:20]!r}")
    return result


def _course(value: float | None) -> float | None:
    """Heading in degrees; negative means unknown (the SDK sends -1)."""
    return None if value is None or value < 0 else value % 360.0


def _scalar(value: str) -> Any:
    """Extra query parameters: booleans and numbers typed, anything else kept as text."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def _time(value: Any, received_at: datetime | None, attrs: dict[str, Any]) -> datetime:
    if value is None or value == "":
        if received_at is None:
            raise FrameError("OsmAnd: no timestamp and no receive time given")
        attrs["time_source"] = "received"
        return received_at.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_number(float(value))
    if not isinstance(value, str):
        raise FrameError("OsmAnd: timestamp is neither a number nor a string")
    try:
        return _from_number(float(value))
    except ValueError:
        pass
    text = value.strip().replace("Z", "+00:00")
    # an unescaped '+' of a UTC offset arrives as a space after query decoding
    text = _SPACED_OFFSET.sub(r"+\1", text)
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _from_number(number: float) -> datetime:
    if not math.isfinite(number) or number < 0:
        raise FrameError(f"OsmAnd: bad timestamp {number}")
    seconds = number / 1000.0 if number > _MS_THRESHOLD else number
    return _EPOCH + timedelta(milliseconds=round(seconds * 1000))
