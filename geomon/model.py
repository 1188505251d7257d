"""Domain records passed between ingest, pipeline, store and API.

Plain frozen dataclasses (Position excepted, see there): units live in names, times are
tz-aware UTC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Position:
    """One GNSS fix of one device as a decoder produced it.

    ``device_uid`` is the identifier the device sends (IMEI, phone id, configured serial id);
    the registry resolves it to a ``device_id`` row key before storage.

    Treated as immutable (stages return a :meth:`replace`d copy) but not frozen: a frozen
    dataclass's ``__init__`` sets each of the 13 fields through ``object.__setattr__``, which
    made it the largest single cost of decoding a Teltonika record (docs/performance.md).
    """

    device_uid: str
    fix_time: datetime
    lat: float
    lon: float
    valid: bool = True
    speed_mps: float | None = None
    course_deg: float | None = None
    altitude_m: float | None = None
    hdop: float | None = None
    satellites: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = None
    protocol: str = ""

    def replace(self, **changes: Any) -> Position:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Observation:
    """One reading or alarm from a BCP / field sensor (plate reader, radiation portal…)."""

    sensor_uid: str
    observed_at: datetime
    kind: str
    value: float | None = None
    text: str | None = None
    lat: float | None = None
    lon: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class Drop:
    """A pipeline stage's verdict that a record must not be stored, with a named reason."""

    reason: str
    detail: str = ""
