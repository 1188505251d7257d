"""Journey detections on real reads through the batch writer, then one look of the plate
checker: a cloned plate (two posts faster than the stated speed allows), convoys (the same
pair at one post ≥ k times), overstays (entered, no exit after N days), each raised once,
and only to agencies that may see every read the event names."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from geomon.model import Observation
from geomon.pipeline.plate_checks import PlateChecker
from geomon.pipeline.writer import BatchWriter
from geomon.settings import IngestSettings, PlateSettings
from geomon.store.devices import add_device, bind_device, ensure_agency
from geomon.store.users import share

NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = PlateSettings(max_speed_kmh=100, clone_min_distance_km=5, overstay_days=10,
                         convoy_minutes=5, convoy_times=3)  # fmt: skip


def _tag() -> str:
    return uuid.uuid4().hex[:5].upper()


def _sensor(db_url: str, agency: str, place: str) -> str:
    uid = f"ANPR-{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db_url) as c:
        ensure_agency(c, agency)
        add_device(c, uid=uid, kind="sensor", agency=agency)
        bind_device(c, uid, place=place)
    return uid


def _read(uid: str, t: datetime, plate: str, direction: str | None = None) -> Observation:
    attrs = {"direction": direction} if direction else {}
    return Observation(uid, t, "plate_read", value=0.95, text=plate, attrs=attrs)


def _ingest_and_look(db_url: str, tmp: Path, obs: list[Observation]) -> list[int]:
    w = BatchWriter(db_url, IngestSettings(spool_dir=tmp / uuid.uuid4().hex[:6], batch_max_ms=5))

    async def go() -> list[int]:
        await w.start()
        try:
            await w.submit_observations(obs)
        finally:
            await w.stop()
        checker = PlateChecker(SETTINGS)
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            ids = await checker.step(conn, NOW)
            ids += await checker.step(conn, NOW)  # a second look raises nothing more
            await conn.commit()
        return ids

    return asyncio.run(go())


def _events(db_url: str, kind: str, plate: str) -> list[tuple]:
    with psycopg.connect(db_url) as c:
        return c.execute(
            "SELECT a.code, e.severity, e.attrs FROM events e "
            "JOIN agencies a ON a.id = e.agency_id WHERE e.kind = %s "
            "AND (e.attrs->>'plate_norm' = %s OR e.attrs->'plates' ? %s) "
            "ORDER BY e.id",
            (kind, plate, plate),
        ).fetchall()


def test_cloned_plate_between_far_posts(db_url: str, tmp_path: Path) -> None:
    t, ag = _tag(), "KAZ-PJ1"
    nzh = _sensor(db_url, ag, "Nur Zholy")  # Khorgos, ~470 km from Kordai in a straight line
    dostyk = _sensor(db_url, ag, "Kordai / Ak-Jol road BCP")
    plate, slow = f"11{t}AA", f"22{t}BB"
    ids = _ingest_and_look(db_url, tmp_path, [
        _read(nzh, NOW - timedelta(hours=2), plate), _read(dostyk, NOW - timedelta(hours=1), plate),
        _read(nzh, NOW - timedelta(days=2), slow), _read(dostyk, NOW - timedelta(days=1), slow),
    ])  # fmt: skip
    got = _events(db_url, "plate_cloned", plate)
    assert len(got) == 1 and ids
    code, severity, attrs = got[0]
    assert (code, severity, attrs["posts"]) == (ag, "critical", [
        "Khorgos - Nur Zholy road BCP", attrs["posts"][1]])  # fmt: skip
    assert attrs["speed_kmh"] > 100 and attrs["distance_km"] > 100
    assert _events(db_url, "plate_cloned", slow) == []


def test_cloned_plate_only_to_agencies_that_see_both_reads(db_url: str, tmp_path: Path) -> None:
    t = _tag()
    a, b = f"KAZ-PJ{t}", f"KGZ-PJ{t}"
    kz, kg = _sensor(db_url, a, "Nur Zholy"), _sensor(db_url, b, "Torugart")
    plate = f"33{t}CC"
    _ingest_and_look(db_url, tmp_path, [_read(kz, NOW - timedelta(minutes=50), plate),
                                        _read(kg, NOW - timedelta(minutes=40), plate)])  # fmt: skip
    assert _events(db_url, "plate_cloned", plate) == []  # neither sees the other's read
    with psycopg.connect(db_url) as c:
        share(c, from_agency=b, to_agency=a, scope="observations")
    _ingest_and_look(db_url, tmp_path, [_read(kg, NOW - timedelta(minutes=30), plate)])
    assert [e[0] for e in _events(db_url, "plate_cloned", plate)] == [a]


def test_convoy_needs_k_crossings_together(db_url: str, tmp_path: Path) -> None:
    t, ag = _tag(), "UZB-PJ3"
    cam = _sensor(db_url, ag, "Zhibek Zholy / Gisht Kuprik road BCP (Saryagash)")
    lead, follow, once = f"44{t}DD", f"55{t}EE", f"66{t}FF"
    obs = []
    for day in (1, 3, 5):
        base = NOW - timedelta(days=day)
        obs += [_read(cam, base, lead), _read(cam, base + timedelta(minutes=2), follow),
                _read(cam, base + timedelta(minutes=3), lead)]  # fmt: skip
    obs.append(_read(cam, NOW - timedelta(days=1, minutes=-1), once))
    _ingest_and_look(db_url, tmp_path, obs)
    got = _events(db_url, "plate_convoy", lead)
    assert [(e[0], e[1], sorted(e[2]["plates"]), e[2]["times"]) for e in got] == [
        (ag, "warning", sorted([lead, follow]), 3)
    ]
    assert _events(db_url, "plate_convoy", once) == []  # together once only


def test_overstay_after_n_days_without_exit(db_url: str, tmp_path: Path) -> None:
    t, ag = _tag(), "TJK-PJ4"
    cam, other = (
        _sensor(db_url, ag, "Panji Poyon - Sher Khan Bandar road BCP"),
        _sensor(db_url, ag, "Termez - Hairatan Friendship Bridge BCP"),
    )
    stays, left, recent = f"77{t}GG", f"88{t}HH", f"99{t}JJ"
    _ingest_and_look(db_url, tmp_path, [
        _read(cam, NOW - timedelta(days=10, hours=2), stays, "in"),
        _read(other, NOW - timedelta(days=5), stays),  # seen inside, no direction: not an exit
        _read(cam, NOW - timedelta(days=10, hours=3), left, "in"),
        _read(other, NOW - timedelta(days=2), left, "out"),
        _read(cam, NOW - timedelta(days=3), recent, "in"),
    ])  # fmt: skip
    got = _events(db_url, "plate_overstay", stays)
    assert [(e[0], e[1], e[2]["days"]) for e in got] == [(ag, "warning", 10)]
    assert _events(db_url, "plate_overstay", left) == []
    assert _events(db_url, "plate_overstay", recent) == []
