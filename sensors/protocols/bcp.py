"""BCP sensor observations: the documented JSON format (docs/bcp-observations.md). Pure.

One observation is a JSON object::

    {"sensor": "KZ-NZH-ANPR-1", "time": "2026-11-28T10:15:00Z", "kind": "plate_read",
     "lat": 44.17, "lon": 80.41, "value": 0.97, "text": "123ABC02", "attributes": {…}}

It arrives as an MQTT payload, an HTTP POST body (one object or an array) or one object per
line on a serial/TCP feed (:class:`BcpLineDecoder`). Every problem is a
:class:`~geomon.errors.DecodeError` whose message names the field and what is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from geomon.errors import DecodeError, FrameError
from geomon.model import Observation
from sensors.framing import LineFramer
from sensors.protocols import strict_json

ALARM_KINDS = frozenset({"radiation_alarm", "intrusion"})
"""Kinds that should also raise an event (DESIGN.md §3 events: sensor alarm)."""

_SENSOR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")
_CUSTOM_KIND = re.compile(r"^x-[a-z0-9_]{1,40}$")
_FIELDS = frozenset({"sensor", "sensor_id", "time", "kind", "lat", "lon", "value", "text",
                     "attributes", "id"})  # fmt: skip
_MS_THRESHOLD = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TEXT = 1024


class ObservationError(DecodeError):
    """An observation is not valid JSON or breaks the documented format."""


def _require_text(doc: dict[str, Any]) -> None:
    if doc.get("text") in (None, ""):
        raise ObservationError(f"{doc['kind']} needs 'text'")


def _require_value(doc: dict[str, Any], *, integer: bool = False) -> None:
    value = doc.get("value")
    if value is None:
        raise ObservationError(f"{doc['kind']} needs a numeric 'value'")
    if value < 0 or (integer and value != int(value)):
        kind = "a non-negative integer" if integer else "non-negative"
        raise ObservationError(f"{doc['kind']} 'value' must be {kind}, got {value}")


def _check_confidence(doc: dict[str, Any]) -> None:
    value = doc.get("value")
    if value is not None and not 0 <= value <= 1:
        raise ObservationError(f"{doc['kind']} 'value' is a confidence in [0, 1], got {value}")


def _text_with_confidence(doc: dict[str, Any]) -> None:
    _require_text(doc)
    _check_confidence(doc)


def _count(doc: dict[str, Any]) -> None:
    _require_value(doc, integer=True)


def _no_rule(doc: dict[str, Any]) -> None:
    return None


KIND_RULES: dict[str, Callable[[dict[str, Any]], None]] = {
    "plate_read": _text_with_confidence,
    "radiation_alarm": _require_value,
    "vehicle_count": _count,
    "intrusion": _no_rule,
    "camera_detection": _text_with_confidence,
}
"""Per-kind checks beyond the common fields (see docs/bcp-observations.md)."""


def decode_observation(
    doc: dict[str, Any] | bytes | str, *, sensor_uid: str | None = None
) -> Observation:
    """Validate one observation. ``sensor_uid`` (from an MQTT topic or a serial binding)
    is used when the object has no ``sensor``, and must agree with it when it has one."""
    raw = doc.encode() if isinstance(doc, str) else doc if isinstance(doc, bytes) else None
    if raw is not None:
        doc = _load(raw)
    if not isinstance(doc, dict):
        raise ObservationError("an observation must be a JSON object")
    unknown = set(doc) - _FIELDS
    if unknown:
        raise ObservationError(f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
    sensor = _sensor(doc, sensor_uid)
    kind = doc.get("kind")
    if not isinstance(kind, str) or not (kind in KIND_RULES or _CUSTOM_KIND.match(kind)):
        known = ", ".join(sorted(KIND_RULES))
        raise ObservationError(f"'kind' must be one of {known} or x-<name>, got {kind!r:.60}")
    value = _number(doc, "value")
    text = doc.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        raise ObservationError(f"'text' must be a string of at most {MAX_TEXT} characters")
    lat, lon = _location(doc)
    attrs = doc.get("attributes", {})
    if not isinstance(attrs, dict):
        raise ObservationError("'attributes' must be a JSON object")
    checked = {**doc, "kind": kind, "value": value}
    KIND_RULES.get(kind, _no_rule)(checked)
    if "id" in doc:
        attrs = {**attrs, "message_id": str(doc["id"])}
    return Observation(
        sensor_uid=sensor,
        observed_at=_time(doc.get("time")),
        kind=kind,
        value=value,
        text=text,
        lat=lat,
        lon=lon,
        attrs=attrs,
        raw=raw if raw is not None else json.dumps(doc, sort_keys=True).encode(),
    )


def decode_observations(body: bytes, *, sensor_uid: str | None = None) -> list[Observation]:
    """An HTTP/MQTT body: one object or an array of objects (all valid, or an error)."""
    doc = _load(body)
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for i, item in enumerate(items):
        try:
            out.append(decode_observation(item, sensor_uid=sensor_uid))
        except DecodeError as exc:
            if len(items) == 1:
                raise
            raise ObservationError(f"item {i}: {exc}") from exc
    return out


def is_alarm(obs: Observation) -> bool:
    return obs.kind in ALARM_KINDS


class BcpLineDecoder:
    """A serial/TCP feed of one JSON object per line → observations (never raises).

    ``feed`` returns each line's :class:`Observation` or its :class:`DecodeError`, in order,
    so the caller can count errors and keep reading.
    """

    def __init__(self, sensor_uid: str | None = None, *, max_line_bytes: int = 16384) -> None:
        self.sensor_uid = sensor_uid
        self.framer = LineFramer(max_line_bytes, split_on_dollar=False)

    def feed(self, data: bytes) -> list[Observation | DecodeError]:
        return self._decode(self.framer.feed(data))

    def flush(self) -> list[Observation | DecodeError]:
        return self._decode(self.framer.flush())

    def _decode(self, lines: list[bytes]) -> list[Observation | DecodeError]:
        out: list[Observation | DecodeError] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                out.append(decode_observation(line.strip(), sensor_uid=self.sensor_uid))
            except DecodeError as exc:
                out.append(exc)
        return out


# --- field helpers -------------------------------------------------------------------


def _load(raw: bytes) -> Any:
    try:
        return strict_json.loads(raw)
    except strict_json.UnstorableJson as exc:
        raise ObservationError(f"JSON the database cannot store: {exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ObservationError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise FrameError("JSON nested too deeply") from exc


def _sensor(doc: dict[str, Any], bound: str | None) -> str:
    sensor = doc.get("sensor", doc.get("sensor_id"))
    if sensor is None:
        if bound is None:
            raise ObservationError("'sensor' (the sensor id) is required")
        return bound
    if not isinstance(sensor, str) or not _SENSOR_ID.match(sensor):
        raise ObservationError(f"'sensor' must be an id like KZ-NZH-ANPR-1, got {sensor!r:.60}")
    if bound is not None and sensor != bound:
        raise ObservationError(f"'sensor' {sensor!r} does not match the channel's {bound!r}")
    return sensor


def _number(doc: dict[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ObservationError(f"'{key}' must be a number, got {value!r:.40}")
    if not math.isfinite(value):
        raise ObservationError(f"'{key}' must be finite")
    return float(value)


def _location(doc: dict[str, Any]) -> tuple[float | None, float | None]:
    lat, lon = _number(doc, "lat"), _number(doc, "lon")
    if (lat is None) != (lon is None):
        raise ObservationError("give both 'lat' and 'lon', or neither")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ObservationError(f"'lat'/'lon' out of range: {lat}, {lon}")
    return lat, lon


def _time(value: Any) -> datetime:
    if value is None:
        raise ObservationError("'time' is required (ISO-8601 with offset, or epoch seconds/ms)")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ObservationError(f"'time' must be a positive epoch, got {value}")
        seconds = value / 1000 if value > _MS_THRESHOLD else value
        try:
            return _EPOCH + timedelta(milliseconds=round(seconds * 1000))
        except OverflowError as exc:
            raise ObservationError(f"'time' out of range: {value}") from exc
    if not isinstance(value, str):
        raise ObservationError("'time' must be a string or a number")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ObservationError(f"'time' is not ISO-8601: {value!r:.40}") from exc
    if parsed.tzinfo is None:
        raise ObservationError("'time' needs a UTC offset (e.g. 2026-11-28T10:15:00Z)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ObservationError(f"'time' out of range: {value!r:.40}") from exc
