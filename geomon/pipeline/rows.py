"""Queued jobs to COPY rows, in two steps: :func:`stage_positions` runs the stages once per
job, before any transaction (a retried, spooled or isolated batch never runs them again, so
each drop is counted once and the stages' memory of each device's previous fix sees every
fix once); :func:`prepare_rows` turns the staged jobs into rows inside the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from geomon.model import Drop, Observation, Position
from geomon.pipeline.metrics import Counters
from geomon.pipeline.stages import Stage, StageContext, run_stages
from geomon.store.observations import observation_row
from geomon.store.positions import stage_row


class JobLike(Protocol):
    positions: list[Position]
    observations: list[Observation]
    received_at: datetime


@dataclass
class PreparedRows:
    """Rows for one batch, and per job how many records passed (the submitter's answer)."""

    positions: list[bytes] = field(default_factory=list)  # binary COPY rows (stage_row)
    observations: list[tuple[Any, ...]] = field(default_factory=list)
    per_job: list[int] = field(default_factory=list)
    spans: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)
    """(first, last) fix time per device of ``positions`` (for the event hook)."""
    unknown: int = 0
    """Records left out because their device is not registered."""


def stage_positions(
    positions: Sequence[Position],
    ctx: StageContext,
    stages: tuple[Stage, ...],
    counters: Counters,
) -> list[Position]:
    """The fixes that pass the stages, in fix_time order (a device's previous fix is the one
    before it); each drop is counted here, once."""
    ctx.now = datetime.now(UTC)
    kept: list[Position] = []
    for p in sorted(positions, key=lambda q: q.fix_time):
        verdict = run_stages(p, ctx, stages)
        if isinstance(verdict, Drop):
            counters.inc("dropped", reason=verdict.reason)
        else:
            kept.append(verdict)
    return kept


def prepare_rows(jobs: Sequence[JobLike], ids: dict[str, int]) -> PreparedRows:
    """Rows of already staged jobs; records of unknown devices are left out and counted in
    ``unknown`` (the caller counts them once the transaction committed)."""
    out = PreparedRows()
    spans = out.spans
    for job in jobs:
        kept = 0
        for p in job.positions:
            device_id = ids.get(p.device_uid)
            if device_id is None:
                out.unknown += 1
                continue
            out.positions.append(stage_row(device_id, p, job.received_at))
            kept += 1
            t = p.fix_time
            span = spans.get(device_id)
            if span is None:
                spans[device_id] = (t, t)
            elif t < span[0] or t > span[1]:
                spans[device_id] = (min(span[0], t), max(span[1], t))
        for o in job.observations:
            sensor_id = ids.get(o.sensor_uid)
            if sensor_id is None:
                out.unknown += 1
                continue
            out.observations.append(observation_row(sensor_id, o, job.received_at))
            kept += 1
        out.per_job.append(kept)
    return out
