"""The ordered ingest stages: pure functions ``(Position, context) -> Position | Drop``.

This file is the one list of what happens to a fix between its decoder and the database.
Each stage either passes the position on (possibly changed) or drops it with a named reason,
which the caller counts. No I/O here: the clock and the device's previous fix come in the
context.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from geomon.model import Drop, Position

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class StageConfig:
    """Limits of the plausibility stages."""

    future_tolerance: timedelta = timedelta(minutes=5)
    max_speed_mps: float = 140.0  # ~500 km/h: faster than any ground vehicle or helicopter
    max_hdop: float = 20.0


@dataclass
class StageContext:
    """What a stage may know besides the position: now, and each device's last accepted fix."""

    now: datetime
    config: StageConfig = field(default_factory=StageConfig)
    previous: dict[str, Position] = field(default_factory=dict)


Stage = Callable[[Position, StageContext], Position | Drop]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def drop_invalid_fix(p: Position, ctx: StageContext) -> Position | Drop:
    if not p.valid:
        return Drop("invalid_fix", "receiver reports no valid fix")
    if not (-90 <= p.lat <= 90 and -180 <= p.lon <= 180) or math.isnan(p.lat + p.lon):
        return Drop("invalid_fix", f"coordinates out of range: {p.lat}, {p.lon}")
    return p


def drop_null_island(p: Position, ctx: StageContext) -> Position | Drop:
    if abs(p.lat) < 1e-6 and abs(p.lon) < 1e-6:
        return Drop("null_island", "0,0 is a receiver default, not a fix")
    return p


def drop_future(p: Position, ctx: StageContext) -> Position | Drop:
    if p.fix_time > ctx.now + ctx.config.future_tolerance:
        return Drop("future", f"fix_time {p.fix_time.isoformat()} is ahead of now")
    return p


def drop_poor_accuracy(p: Position, ctx: StageContext) -> Position | Drop:
    if p.hdop is not None and p.hdop > ctx.config.max_hdop:
        return Drop("poor_accuracy", f"hdop {p.hdop} > {ctx.config.max_hdop}")
    return p


def drop_implausible_jump(p: Position, ctx: StageContext) -> Position | Drop:
    prev = ctx.previous.get(p.device_uid)
    if prev is None:
        return p
    dt = abs((p.fix_time - prev.fix_time).total_seconds())
    dist = haversine_m(prev.lat, prev.lon, p.lat, p.lon)
    if dist > ctx.config.max_speed_mps * max(dt, 1.0):
        return Drop("implausible_jump", f"{dist:.0f} m in {dt:.0f} s")
    return p


STAGES: tuple[Stage, ...] = (
    drop_invalid_fix,
    drop_null_island,
    drop_future,
    drop_poor_accuracy,
    drop_implausible_jump,
)


def run_stages(
    p: Position, ctx: StageContext, stages: tuple[Stage, ...] = STAGES
) -> Position | Drop:
    """Apply the stages in order; remember the fix as the device's previous when accepted."""
    out = p
    for stage in stages:
        step = stage(out, ctx)
        if isinstance(step, Drop):
            return step
        out = step
    prev = ctx.previous.get(p.device_uid)
    if prev is None or out.fix_time >= prev.fix_time:
        ctx.previous[p.device_uid] = out
    return out
