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


def to_us(t: datetime) -> int:
    """Microseconds since the epoch of a tz-aware datetime (exact, no float rounding)."""
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


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
    def from_rows(cls, rows: Sequence[tuple[Any, ...]], emit: Sequence[bool] | None = None
                  ) -> Track:
        """From (device, fix_time, lon, lat, speed_mps, attrs) rows, sorted on the way in."""
        idx = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1]))
        r = [rows[i] for i in idx]
        return cls(
            device=np.array([x[0] for x in r], dtype=np.int64),
            t_us=np.array([to_us(x[1]) for x in r], dtype=np.int64),
            lon=np.array([x[2] for x in r], dtype=float),
            lat=np.array([x[3] for x in r], dtype=float),
            speed_mps=np.array([np.nan if x[4] is None else x[4] for x in r], dtype=float),
            attrs=[x[5] or {} for x in r],
            emit=None if emit is None else np.array([emit[i] for i in idx], dtype=bool),
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
