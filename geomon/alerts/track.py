"""Inputs and outputs of the event engine: fixes as sorted arrays, events as drafts.

An :class:`EventDraft` carries a deterministic ``key`` (kind, device, zone/border, fix time):
computing the same track twice — live, replayed late, resent or shuffled — yields the same
keys, so the store can insert with ``ON CONFLICT DO NOTHING`` and never duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(t: datetime) -> int:
    """Microseconds since the epoch of a tz-aware datetime (exact, no float rounding)."""
    return (t - _EPOCH) // _US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


@dataclass
class Track:
    """Fixes of one or more devices sorted by (device, time).

    ``emit`` is False for context fixes (stored neighbours loaded only so the first new fix
    has a predecessor): transitions *into* them are not re-emitted.
    """

    device: np.ndarray
    t_us: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    speed_mps: np.ndarray
    attrs: Sequence[dict[str, Any]] = ()
    emit: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.device)
        self.device = np.asarray(self.device, dtype=np.int64)
        self.t_us = np.asarray(self.t_us, dtype=np.int64)
        self.lon = np.asarray(self.lon, dtype=float)
        self.lat = np.asarray(self.lat, dtype=float)
        self.speed_mps = np.asarray(self.speed_mps, dtype=float)
        if self.emit is None:
            self.emit = np.ones(n, dtype=bool)
        if not self.attrs:
            self.attrs = [{}] * n
        order = np.lexsort((self.t_us, self.device))
        if np.any(order != np.arange(n)):
            raise ValueError("Track must be sorted by (device, t_us)")

    def __len__(self) -> int:
        return len(self.device)

    @property
    def has_prev(self) -> np.ndarray:
        """True where the previous row is an earlier fix of the same device."""
        out = np.zeros(len(self), dtype=bool)
        out[1:] = self.device[1:] == self.device[:-1]
        return out

    @classmethod
    def from_rows(
        cls, rows: Sequence[tuple[Any, ...]], emit: Sequence[bool] | None = None
    ) -> Track:
        """From (device, fix_time, lon, lat, speed_mps, attrs) rows, sorted on the way in.
        Column by column (numpy converts, None speeds become NaN): the event process builds
        a track of every fix the listener commits, so a per-row Python loop showed up there."""
        if not rows:
            return cls(
                device=np.zeros(0, np.int64),
                t_us=np.zeros(0, np.int64),
                lon=np.zeros(0),
                lat=np.zeros(0),
                speed_mps=np.zeros(0),
                emit=None if emit is None else np.zeros(0, bool),
            )
        dev, t, lon, lat, speed, attrs = zip(*rows, strict=True)
        device = np.array(dev, dtype=np.int64)
        t_us = np.array(list(map(to_us, t)), dtype=np.int64)
        order = np.lexsort((t_us, device))
        flags = None if emit is None else np.array(emit, dtype=bool)
        columns = [
            device,
            t_us,
            np.array(lon, dtype=float),
            np.array(lat, dtype=float),
            np.array(speed, dtype=float),
        ]
        dicts = [a or {} for a in attrs]
        if np.any(order != np.arange(len(order))):
            columns = [c[order] for c in columns]
            dicts = [dicts[i] for i in order]
            flags = None if flags is None else flags[order]
        return cls(
            device=columns[0],
            t_us=columns[1],
            lon=columns[2],
            lat=columns[3],
            speed_mps=columns[4],
            attrs=dicts,
            emit=flags,
        )


@dataclass(frozen=True)
class EventDraft:
    """An event the engine found; the store assigns agency and id."""

    kind: str
    severity: str
    device_id: int | None
    occurred_at: datetime
    lon: float | None
    lat: float | None
    key: str
    zone_id: int | None = None
    dedupe_key: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


def event_key(kind: str, device_id: int | None, ref: object, t_us: int) -> str:
    """The deterministic idempotency key: kind, device, zone/border/run reference, fix time."""
    return f"{kind}:{device_id if device_id is not None else '-'}:{ref}:{int(t_us)}"
