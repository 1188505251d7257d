"""The batch writer against a real PostGIS: commit before ack, duplicates absorbed, conflicting
resends flagged, late data never moves device_latest back, bad rows isolated, and the on-disk
spool while the database is unreachable (replayed exactly once when it returns)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from geomon.model import Observation, Position
from geomon.pipeline.metrics import Counters
from geomon.pipeline.writer import BatchWriter
from geomon.settings import IngestSettings
from geomon.store.devices import add_device
from tests.conftest import free_port

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _uid() -> str:
    return "W" + uuid.uuid4().hex[:12]


def _fix(uid: str, i: int, *, lat: float = 42.87, attrs: dict | None = None) -> Position:
    return Position(
        uid,
        T0 + timedelta(seconds=10 * i),
        lat + i * 1e-4,
        74.6,
        speed_mps=5.0,
        satellites=9,
        attrs=attrs or {},
        protocol="test",
    )


def _register(db_url: str, uid: str, kind: str = "tracker") -> int:
    with psycopg.connect(db_url) as c:
        return add_device(c, uid=uid, kind=kind, agency="TEST-W").id


def _count(db_url: str, sql: str, *args: object) -> int:
    with psycopg.connect(db_url) as c:
        row = c.execute(sql, args).fetchone()
    assert row is not None
    return int(row[0])


def _settings(tmp_path: Path, **kw: object) -> IngestSettings:
    return IngestSettings(
        spool_dir=tmp_path / "spool", batch_max_ms=5, spool_after_ms=300, db_probe_ms=100, **kw
    )


async def _run(writer: BatchWriter, coro):
    await writer.start()
    try:
        return await coro
    finally:
        await writer.stop()


def test_commit_duplicates_conflicts_and_late_data(db_url: str, tmp_path: Path) -> None:
    uid = _uid()
    dev = _register(db_url, uid)
    counters = Counters()
    w = BatchWriter(db_url, _settings(tmp_path), counters=counters)

    async def scenario() -> None:
        assert await w.submit([_fix(uid, i) for i in range(5, 10)]) == 5
        assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 5
        await w.submit([_fix(uid, 7)])  # identical resend: absorbed
        await w.submit([_fix(uid, 8, lat=42.875)])  # same key, different place: flagged
        await w.submit([_fix(uid, i) for i in range(0, 3)])  # late, replayed buffer

    asyncio.run(_run(w, scenario()))
    assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 8
    assert counters.get("positions_duplicate") == 2
    assert counters.get("positions_conflict") == 1
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM ingest_rejects WHERE device_uid=%s "
            "AND error LIKE 'conflicting resend%%'",
            str(dev),
        )
        == 1
    )
    latest = _count(
        db_url, "SELECT extract(epoch FROM fix_time) FROM device_latest WHERE device_id=%s", dev
    )
    assert latest == int((T0 + timedelta(seconds=90)).timestamp())  # not moved back by late


def test_bad_row_is_isolated_and_rest_written(db_url: str, tmp_path: Path) -> None:
    uid = _uid()
    dev = _register(db_url, uid)
    counters = Counters()
    w = BatchWriter(db_url, _settings(tmp_path), counters=counters)
    fixes = [_fix(uid, i) for i in range(6)]
    fixes[3] = _fix(uid, 3, attrs={"note": "nul\x00byte"})  # jsonb refuses \u0000

    kept = asyncio.run(_run(w, w.submit(fixes)))
    assert kept == 5
    assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 5
    assert _count(db_url, "SELECT count(*) FROM ingest_rejects WHERE device_uid=%s", uid) == 1
    assert counters.get("rejected_rows", reason="UntranslatableCharacter") == 1


def test_observations_and_alarm_events(db_url: str, tmp_path: Path) -> None:
    uid = _uid()
    sensor = _register(db_url, uid, kind="sensor")
    w = BatchWriter(db_url, _settings(tmp_path))
    obs = [
        Observation(uid, T0, "vehicle_count", value=12.0),
        Observation(uid, T0, "radiation_alarm", value=3.2, lat=42.9, lon=74.6, attrs={"lane": 2}),
    ]

    async def scenario() -> None:
        assert await w.submit_observations(obs) == 2
        await w.submit_observations(obs)  # resent: absorbed, no second event

    asyncio.run(_run(w, scenario()))
    assert _count(db_url, "SELECT count(*) FROM observations WHERE sensor_id=%s", sensor) == 2
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM events WHERE device_id=%s AND kind="
            "'sensor_alarm' AND severity='critical' AND attrs->>'lane'='2'",
            sensor,
        )
        == 1
    )


def test_spool_while_database_down_then_replay_once(db_url: str, tmp_path: Path) -> None:
    uid = _uid()
    dev = _register(db_url, uid)
    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    counters = Counters()
    w = BatchWriter(dead, _settings(tmp_path), counters=counters)

    async def scenario() -> None:
        assert await w.submit([_fix(uid, i) for i in range(4)]) == 4  # acked after fsync
        assert await w.submit([_fix(uid, i) for i in range(2, 6)]) == 4
        assert list((tmp_path / "spool").glob("spool-*.log"))
        assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 0
        w._url = db_url  # the database "returns"
        for _ in range(100):
            if not list((tmp_path / "spool").glob("spool-*.log")):
                break
            await asyncio.sleep(0.05)

    asyncio.run(_run(w, scenario()))
    assert not list((tmp_path / "spool").glob("spool-*.log"))
    assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 6
    assert counters.get("spooled_rows") == 8
    assert counters.get("spool_replayed_rows") == 8


def test_overloaded_when_queue_full(db_url: str, tmp_path: Path) -> None:
    from geomon.errors import Overloaded

    w = BatchWriter(db_url, _settings(tmp_path, queue_max_rows=100))
    with pytest.raises(Overloaded):
        asyncio.run(_run(w, w.submit([_fix("X", i) for i in range(101)])))


def test_sensor_alarm_is_announced_and_queued_for_notification(db_url: str, tmp_path: Path) -> None:
    """A BCP alarm is an event like any other: NOTIFY geomon_events on commit (live stream,
    map) and one delivery per matching webhook/MQTT target."""
    import json

    from geomon.store.notifications import add_target

    uid = _uid()
    sensor = _register(db_url, uid, kind="sensor")
    with psycopg.connect(db_url) as c:
        target = add_target(
            c,
            channel="webhook",
            url="http://127.0.0.1:9/hook",
            agency="TEST-W",
            min_severity="critical",
            kinds=["sensor_alarm"],
        )
    listener = psycopg.connect(db_url, autocommit=True)
    listener.execute("LISTEN geomon_events")
    w = BatchWriter(db_url, _settings(tmp_path))
    obs = [
        Observation(uid, T0 + timedelta(minutes=5), "intrusion", text="fence 3", lat=39.4, lon=73.3)
    ]
    asyncio.run(_run(w, w.submit_observations(obs)))
    ids = []
    for note in listener.notifies(timeout=5, stop_after=1):
        ids += json.loads(note.payload)["events"]
    listener.close()
    with psycopg.connect(db_url) as c:
        event = c.execute(
            "SELECT id, severity FROM events WHERE device_id = %s AND kind = 'sensor_alarm'",
            (sensor,),
        ).fetchone()
        assert event is not None and event[1] == "critical"
        assert event[0] in ids
        queued = c.execute(
            "SELECT count(*) FROM notification_deliveries WHERE event_id = %s", (event[0],)
        ).fetchone()
        # the session database is shared: leave no target for the notifier tests to deliver to
        c.execute("DELETE FROM notification_targets WHERE id = %s", (target,))
    assert queued == (1,)


def test_batch_closes_when_idle_not_only_at_its_deadline(db_url: str, tmp_path: Path) -> None:
    """Records arriving closer together than batch_idle_ms share a batch; once none has come
    for that long the batch is written, well before batch_max_ms (devices waiting for their
    acks send nothing more, so waiting out the deadline would only leave the cores idle)."""
    uids = [_uid() for _ in range(3)]
    for uid in uids:
        _register(db_url, uid)
    batches: list[set[int]] = []

    async def on_committed(spans: dict) -> None:
        batches.append(set(spans))

    def writer(idle_ms: float) -> BatchWriter:
        return BatchWriter(
            db_url,
            IngestSettings(
                spool_dir=tmp_path / f"spool{idle_ms}", batch_max_ms=3000, batch_idle_ms=idle_ms
            ),
            on_committed=on_committed,
        )

    async def burst(w: BatchWriter) -> float:
        async def later(i: int) -> int:
            await asyncio.sleep(0.01 * i)  # 10 ms apart: within the idle gap
            return await w.submit([_fix(uids[i], i)])

        t = asyncio.get_running_loop().time()
        assert await asyncio.gather(*(later(i) for i in range(3))) == [1, 1, 1]
        return asyncio.get_running_loop().time() - t

    w = writer(300)
    took = asyncio.run(_run(w, burst(w)))
    assert len(batches) == 1 and len(batches[0]) == 3  # one batch of the three devices
    assert took < 2.0  # closed ~300 ms after the last record, not at the 3 s deadline

    batches.clear()
    w = writer(0)  # off: the batch waits for its deadline
    uids[:] = uids[:1]

    async def lone(w: BatchWriter) -> float:
        t = asyncio.get_running_loop().time()
        assert await w.submit([_fix(uids[0], 5)]) == 1
        return asyncio.get_running_loop().time() - t

    assert asyncio.run(_run(w, lone(w))) >= 2.9
    assert len(batches) == 1


def test_binary_copy_rows_store_every_field_exactly(db_url: str, tmp_path: Path) -> None:
    """The writer encodes COPY rows itself (geomon.store.pgcopy): every column, NULLs,
    microseconds, negative and extreme coordinates, unicode and nested attrs, raw bytes."""
    uid = _uid()
    dev = _register(db_url, uid)
    t = datetime(2026, 11, 1, 8, 0, 0, 123457, tzinfo=UTC)
    fixes = [
        Position(
            uid,
            t,
            -33.8688,
            151.2093,
            speed_mps=12.5,
            course_deg=359.9,
            altitude_m=-12.25,
            hdop=0.8,
            satellites=12,
            protocol="teltonika",
            attrs={"io": {"239": 1}, "name": "Қорғас ✓", "v": 13.8, "list": [1, None]},
            raw=bytes(range(256)),
        ),
        Position(
            uid, t + timedelta(microseconds=1), 89.999999, -179.999999, valid=False, protocol="nmea"
        ),
    ]
    w = BatchWriter(db_url, _settings(tmp_path))
    assert asyncio.run(_run(w, w.submit(fixes))) == 1  # the invalid fix is dropped …
    w = BatchWriter(db_url, _settings(tmp_path / "2"), stages=())
    assert asyncio.run(_run(w, w.submit(fixes))) == 2  # … unless no stage runs
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "SELECT fix_time, ST_Y(geom), ST_X(geom), ST_SRID(geom), speed_mps, course_deg, "
            "altitude_m, hdop, satellites, valid, protocol, attrs, raw, received_at "
            "FROM positions WHERE device_id = %s ORDER BY fix_time",
            (dev,),
        ).fetchall()
    assert [r[:11] for r in rows] == [
        (t, -33.8688, 151.2093, 4326, 12.5, 359.9, -12.25, 0.8, 12, True, "teltonika"),
        (
            t + timedelta(microseconds=1),
            89.999999,
            -179.999999,
            4326,
            None,
            None,
            None,
            None,
            None,
            False,
            "nmea",
        ),
    ]
    assert rows[0][11] == fixes[0].attrs and rows[1][11] == {}
    assert rows[0][12] == bytes(range(256)) and rows[1][12] is None
    assert all(abs((r[13] - datetime.now(UTC)).total_seconds()) < 120 for r in rows)


def test_a_key_repeated_within_one_batch_is_stored_once(db_url: str, tmp_path: Path) -> None:
    """Two fixes of one device with the same fix_time in one batch: the first is stored, the
    second absorbed and counted (the merge inserts in COPY order, without a sort)."""
    uid = _uid()
    dev = _register(db_url, uid)
    counters = Counters()
    w = BatchWriter(db_url, _settings(tmp_path), counters=counters)
    fixes = [_fix(uid, 3), _fix(uid, 3, lat=42.87005), _fix(uid, 4)]
    assert asyncio.run(_run(w, w.submit(fixes))) == 3
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "SELECT fix_time, ST_Y(geom) FROM positions WHERE device_id = %s ORDER BY fix_time",
            (dev,),
        ).fetchall()
    assert [round(lat, 5) for _, lat in rows] == [42.8703, 42.8704]  # the first of the two
    assert counters.get("positions_committed") == 2 and counters.get("positions_duplicate") == 1


def test_a_row_the_encoder_refuses_is_isolated_too(db_url: str, tmp_path: Path) -> None:
    """A value the binary COPY encoder cannot represent (satellites beyond int2) fails the
    batch before it reaches the server; that row goes to ingest_rejects, the rest is stored."""
    uid = _uid()
    dev = _register(db_url, uid)
    counters = Counters()
    w = BatchWriter(db_url, _settings(tmp_path), counters=counters)
    fixes = [_fix(uid, i) for i in range(4)]
    fixes[1].satellites = 70_000
    assert asyncio.run(_run(w, w.submit(fixes))) == 3
    assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 3
    assert _count(db_url, "SELECT count(*) FROM ingest_rejects WHERE device_uid=%s", uid) == 1
    assert counters.get("rejected_rows", reason="ValueError") == 1
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM ingest_rejects WHERE device_uid=%s AND error LIKE %s",
            uid,
            "ValueError: position of % does not fit%",
        )
        == 1
    )


def test_a_dropped_fix_in_an_isolated_batch_is_counted_once(db_url: str, tmp_path: Path) -> None:
    """The stages run once per job, before the transaction: isolating the batch (job by job,
    then row by row, three writes of the same rows) neither drops nor counts anything twice.
    Unknown devices are counted once too, after the commit that left them out."""
    uid, stranger = _uid(), _uid()
    dev = _register(db_url, uid)
    counters = Counters()
    w = BatchWriter(db_url, _settings(tmp_path), counters=counters)
    fixes = [_fix(uid, i) for i in range(5)]
    fixes[1] = Position(uid, T0 + timedelta(seconds=10), 0.0, 0.0, protocol="test")  # 0,0
    fixes[3] = _fix(uid, 3, attrs={"note": "nul\x00byte"})  # isolates the batch
    fixes.append(_fix(stranger, 9))  # no such device

    kept = asyncio.run(_run(w, w.submit(fixes)))
    assert kept == 3
    assert _count(db_url, "SELECT count(*) FROM positions WHERE device_id=%s", dev) == 3
    assert _count(db_url, "SELECT count(*) FROM ingest_rejects WHERE device_uid=%s", uid) == 1
    assert counters.get("dropped", reason="null_island") == 1
    assert counters.get("dropped", reason="unknown_device") == 1
    assert counters.get("rejected_rows", reason="UntranslatableCharacter") == 1
    assert counters.get("positions_committed") == 3
