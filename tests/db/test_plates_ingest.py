"""Plate reads at ingest: normalised into an indexed column (raw text and confidence kept),
absurd reads stored as observed and never normalised, and fixed sensors bound to a place or a
point so an observation without a position is stored at its post."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from geomon.errors import InvalidRequest, NotFound
from geomon.model import Observation
from geomon.pipeline.writer import BatchWriter
from geomon.settings import IngestSettings
from geomon.store.devices import add_device, bind_device, find_place

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _sensor(db_url: str, **where: object) -> str:
    uid = "ANPR-" + uuid.uuid4().hex[:10]
    with psycopg.connect(db_url) as c:
        add_device(c, uid=uid, kind="sensor", agency="TEST-PLATES")
        if where:
            bind_device(c, uid, **where)  # type: ignore[arg-type]
    return uid


def _write(db_url: str, tmp_path: Path, obs: list[Observation]) -> int:
    settings = IngestSettings(spool_dir=tmp_path / "spool", batch_max_ms=5)
    w = BatchWriter(db_url, settings)

    async def go() -> int:
        await w.start()
        try:
            return await w.submit_observations(obs)
        finally:
            await w.stop()

    return asyncio.run(go())


def _rows(db_url: str, uid: str) -> list[tuple]:
    with psycopg.connect(db_url) as c:
        return c.execute(
            "SELECT o.text, o.plate_norm, o.plate_country, o.value, "
            "round(ST_Y(o.geom)::numeric, 5)::float8, round(ST_X(o.geom)::numeric, 5)::float8 "
            "FROM observations o JOIN devices d ON d.id = o.sensor_id WHERE d.uid = %s "
            "ORDER BY o.observed_at",
            (uid,),
        ).fetchall()


def test_plates_are_normalised_raw_and_confidence_kept(db_url: str, tmp_path: Path) -> None:
    uid = _sensor(db_url, lat=44.2, lon=80.4)
    reads = ["123 АВС 02", "KZ:123-abc-02", "", "A" * 21, "01A\x00123", "  -  "]
    obs = [
        Observation(uid, T0 + timedelta(seconds=i), "plate_read", value=0.9 - i / 100, text=t)
        for i, t in enumerate(reads)
    ]
    obs.append(
        Observation(
            uid,
            T0 + timedelta(seconds=9),
            "plate_read",
            text="01 kg 777 x",
            attrs={"country": "kg"},
        )
    )
    assert _write(db_url, tmp_path, obs) == len(obs)
    rows = _rows(db_url, uid)
    stored = [*reads[:4], "01A\ufffd123", reads[5], "01 kg 777 x"]
    assert [r[0] for r in rows] == stored  # every read stored as observed (NUL shown as U+FFFD)
    assert [r[1] for r in rows] == ["123ABC02", "123ABC02", None, None, None, None, "01KG777X"]
    assert [r[2] for r in rows] == [None, "KZ", None, None, None, None, "KG"]
    assert rows[0][3] == pytest.approx(0.9) and rows[6][3] is None
    with psycopg.connect(db_url) as c:
        plan = c.execute(
            "EXPLAIN SELECT * FROM observations WHERE plate_norm = '123ABC02' ORDER BY observed_at"
        ).fetchall()
    assert "ix_observations_plate_norm_observed_at" in " ".join(r[0] for r in plan)


def test_an_observation_without_position_takes_its_sensors(db_url: str, tmp_path: Path) -> None:
    at_place = _sensor(db_url, place="Nur Zholy")  # an alias of the Khorgos road BCP
    at_point = _sensor(db_url, place="Torugart road BCP", lat=40.6, lon=75.4)
    unbound = _sensor(db_url)
    obs = [
        Observation(at_place, T0, "radiation_alarm", value=1.0),
        Observation(at_place, T0 + timedelta(seconds=1), "intrusion", lat=44.0, lon=80.0),
        Observation(at_point, T0, "plate_read", text="01KG123ABC"),
        Observation(unbound, T0, "vehicle_count", value=3.0),
    ]
    assert _write(db_url, tmp_path, obs) == 4
    with psycopg.connect(db_url) as c:
        place = c.execute(
            "SELECT round(ST_Y(geom)::numeric, 5)::float8, round(ST_X(geom)::numeric, 5)::float8 "
            "FROM places "
            "WHERE name LIKE 'Khorgos - Nur Zholy%'"
        ).fetchone()
        event_geom = c.execute(
            "SELECT count(*) FROM events e JOIN devices d ON d.id = e.device_id "
            "WHERE d.uid = %s AND e.kind = 'sensor_alarm' AND e.geom IS NOT NULL",
            (at_place,),
        ).fetchone()
    assert place is not None
    assert [r[4:] for r in _rows(db_url, at_place)] == [place, (44.0, 80.0)]  # own position wins
    assert [r[4:] for r in _rows(db_url, at_point)] == [(40.6, 75.4)]  # the point before the place
    assert [r[4:] for r in _rows(db_url, unbound)] == [(None, None)]
    assert event_geom == (2,)  # both alarms are on the map


def test_binding_refuses_bad_input(conn: psycopg.Connection) -> None:
    with pytest.raises(InvalidRequest, match="not in places"):
        find_place(conn, "No Such Crossing")
    with pytest.raises(InvalidRequest, match="ambiguous"):
        find_place(conn, "K")  # many places start with K
    with pytest.raises(InvalidRequest, match="both"):
        bind_device(conn, "x", lat=1.0)
    with pytest.raises(InvalidRequest, match="out of range"):
        bind_device(conn, "x", lat=91.0, lon=0.0)
    with pytest.raises(NotFound):
        bind_device(conn, "no-such-device-" + uuid.uuid4().hex, lat=1.0, lon=1.0)
