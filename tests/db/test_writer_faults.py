"""The writer against values the database refuses and faults of our own (issue 14, item 1):
a reject whose record holds Infinity and NUL is still kept, and an exception that escapes a
turn refuses that turn's jobs, marks the writer unhealthy, and the next turn works again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from geomon.errors import DatabaseUnavailable
from geomon.model import Observation, Position
from geomon.pipeline import writer as writer_mod
from geomon.pipeline.metrics import Counters
from geomon.pipeline.stages import STAGES, Drop, StageContext
from geomon.pipeline.writer import BatchWriter
from tests.db.test_ingest_writer import T0, _count, _fix, _register, _run, _settings, _uid


def test_a_reject_holding_infinity_and_nul_is_kept(db_url: str, tmp_path: Path) -> None:
    uid = _uid()
    sensor = _register(db_url, uid, kind="sensor")
    counters = Counters()
    w = BatchWriter(db_url, _settings(tmp_path), counters=counters)
    bad = Observation(uid, T0, "vehicle_count", value=1.0, attrs={"x": float("inf"), "n": "a\x00"})
    good = Observation(uid, T0.replace(minute=5), "vehicle_count", value=2.0)

    async def scenario() -> tuple[int, int]:
        return await w.submit_observations([bad]), await w.submit_observations([good])

    assert asyncio.run(_run(w, scenario())) == (0, 1)
    assert _count(db_url, "SELECT count(*) FROM observations WHERE sensor_id=%s", sensor) == 1
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM ingest_rejects WHERE device_uid=%s "
            "AND record->'attrs'->>'x' = 'inf' AND record->'attrs'->>'n' = %s",
            uid,
            "a\ufffd",
        )
        == 1
    )
    assert counters.get("reject_not_kept") == 0


def test_a_fault_of_ours_restarts_the_writer_and_refuses_its_jobs(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_mod, "RESTART_DELAY_S", 0.05)
    uid = _uid()
    dev = _register(db_url, uid)
    armed = [True]

    def faulty(p: Position, ctx: StageContext) -> Position | Drop:
        if armed[0]:
            armed[0] = False
            raise RuntimeError("a bug in a stage")
        return p

    counters = Counters()
    w = BatchWriter(db_url, _settings(tmp_path), counters=counters, stages=(faulty, *STAGES))
    seen: list[bool] = []

    async def scenario() -> int:
        with pytest.raises(DatabaseUnavailable):
            await w.submit([_fix(uid, 0)])
        seen.append(w.healthy)
        kept = await w.submit([_fix(uid, 0), _fix(uid, 1)])  # the device resends
        await asyncio.sleep(0.05)
        seen.append(w.healthy)
        return kept

    assert asyncio.run(_run(w, scenario())) == 2
    assert seen == [False, True]
    assert counters.get("writer_restarts") == 1
    assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 2
