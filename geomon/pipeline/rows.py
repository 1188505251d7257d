"""Turning queued jobs into COPY rows: resolve devices, run the stages, count the drops."""

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


def prepare_rows(
    jobs: Sequence[JobLike],
    ids: dict[str, int],
    ctx: StageContext,
    stages: tuple[Stage, ...],
    counters: Counters,
) -> PreparedRows:
    """One device's fixes are staged in fix_time order; unknown devices are dropped."""
    ctx.now = datetime.now(UTC)
    out = PreparedRows()
    spans = out.spans
    for job in jobs:
        kept = 0
        for p in sorted(job.positions, key=lambda q: q.fix_time):
            device_id = ids.get(p.device_uid)
            verdict = (
                Drop("unknown_device", p.device_uid)
                if device_id is None
                else run_stages(p, ctx, stages)
            )
            if isinstance(verdict, Drop):
                counters.inc("dropped", reason=verdict.reason)
                continue
            out.positions.append(stage_row(device_id, verdict, job.received_at))  # type: ignore[arg-type]
            kept += 1
            t = verdict.fix_time
            span = spans.get(device_id)  # type: ignore[arg-type]
            if span is None:
                spans[device_id] = (t, t)  # type: ignore[index]
            elif t < span[0] or t > span[1]:
                spans[device_id] = (min(span[0], t), max(span[1], t))  # type: ignore[index]
        for o in job.observations:
            sensor_id = ids.get(o.sensor_uid)
            if sensor_id is None:
                counters.inc("dropped", reason="unknown_device")
                continue
            out.observations.append(observation_row(sensor_id, o, job.received_at))
            kept += 1
        out.per_job.append(kept)
    return out
