"""The listener's event process: spans sent from the ingest side become events in a child
process; a child that dies is restarted and later spans are computed again; closing sends
what is pending and waits for the child."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import shapely
from shapely.geometry import box

from geomon.model import Position
from geomon.pipeline.event_process import EventProcess, decode, encode
from geomon.pipeline.eventing import spans_of
from geomon.store.devices import add_device
from geomon.store.positions import stage_row, write_positions
from geomon.store.zones import upsert_zone

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def test_spans_survive_the_pipe_exactly() -> None:
    spans = {3: (T0, T0 + timedelta(microseconds=7)), 12: (T0 - timedelta(days=400), T0)}
    assert decode(encode(spans)) == spans


def _setup(db_url: str) -> int:
    agency = "P" + uuid.uuid4().hex[:6].upper()
    with psycopg.connect(db_url) as conn:
        upsert_zone(
            conn,
            agency=agency,
            name="r",
            kind="restricted",
            geom_wkb=shapely.to_wkb(box(20.0, 20.0, 20.1, 20.1)),
        )
        return add_device(conn, uid=uuid.uuid4().hex[:12], kind="tracker", agency=agency).id


async def _drive(db_url: str, events: EventProcess, dev: int, minutes: range) -> None:
    """Through the zone (20.0-20.1) east from 19.95, 0.01 degrees a minute, and back west
    from minute 20; each fix written and announced like a batch."""
    for m in minutes:
        lon = 19.95 + 0.01 * m if m < 20 else 20.14 - 0.01 * (m - 20)
        rows = [
            stage_row(
                dev,
                Position("x", T0 + timedelta(minutes=m), 20.05, lon, speed_mps=3.0),
                datetime.now(UTC),
            )
        ]
        async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
            await write_positions(conn, rows)
        await events(spans_of(rows))


def _kinds(db_url: str, dev: int) -> list[tuple[str, int]]:
    with psycopg.connect(db_url) as conn:
        return [
            (k, int((t - T0).total_seconds() // 60))
            for k, t in conn.execute(
                "SELECT kind, occurred_at FROM events WHERE device_id = %s ORDER BY occurred_at",
                (dev,),
            )
        ]


async def _wait_for(db_url: str, dev: int, n: int, timeout: float = 30.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = _kinds(db_url, dev)
        if len(got) >= n:
            return got
        await asyncio.sleep(0.2)
    return _kinds(db_url, dev)


async def test_events_come_from_the_child_and_survive_its_death(db_url: str) -> None:
    dev = _setup(db_url)
    events = EventProcess(db_url, restart_s=0.1)
    await events.start()
    try:
        await _drive(db_url, events, dev, range(0, 20))
        assert await _wait_for(db_url, dev, 2) == [("zone_enter", 5), ("zone_exit", 16)]
        assert events._proc is not None
        events._proc.kill()  # the child dies; the next spans find it gone and restart it
        await events._proc.wait()
        await _drive(db_url, events, dev, range(20, 22))  # finds the child gone
        await asyncio.sleep(0.5)
        await _drive(db_url, events, dev, range(22, 40))  # after the restart
        got = await _wait_for(db_url, dev, 4)
        assert got[2:] == [("zone_enter", 24), ("zone_exit", 35)], got
        assert events.restarts >= 1
    finally:
        await events.close()
    assert events._proc is None


async def test_close_runs_what_is_pending(db_url: str) -> None:
    dev = _setup(db_url)
    events = EventProcess(db_url)
    await events.start()
    await _drive(db_url, events, dev, range(0, 8))
    await events.close()  # waits for the child, which finishes its runs first
    assert _kinds(db_url, dev) == [("zone_enter", 5)]
