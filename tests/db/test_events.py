"""Events in a real PostGIS: the ingest hook on live, late, shuffled and resent fixes (exactly
the live events, no duplicates), border crossings on the real border lines, zone generation,
lifecycle and NOTIFY on commit."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import shapely
from shapely.geometry import box

from geomon.errors import InvalidRequest, NotFound
from geomon.model import Position
from geomon.pipeline.eventing import EventHook, check_silent, spans_of
from geomon.store import events as ev
from geomon.store.devices import add_device
from geomon.store.event_inputs import load_context
from geomon.store.positions import stage_row, write_positions
from geomon.store.zones import (
    border_strip,
    crossing_point_zones,
    import_zones,
    list_zones,
    upsert_zone,
)

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
PANJI_POYON = (68.583, 37.2)


def _agency() -> str:
    return "T" + uuid.uuid4().hex[:6].upper()


def _device(db_url: str, agency: str) -> int:
    with psycopg.connect(db_url) as conn:
        return add_device(conn, uid=uuid.uuid4().hex[:12], kind="tracker", agency=agency).id


async def _ingest(
    db_url: str,
    hook: EventHook,
    dev: int,
    pts: list[tuple[int, float, float]],
    attrs: dict | None = None,
) -> list[int]:
    """Write fixes (minute offset, lon, lat) like the batch writer, then run the hook."""
    rows = [
        stage_row(
            dev,
            Position("x", T0 + timedelta(minutes=m), lat, lon, speed_mps=3.0, attrs=attrs or {}),
            datetime.now(UTC),
        )
        for m, lon, lat in pts
    ]
    async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
        await write_positions(conn, rows)
    return await hook(spans_of(rows))


def _events(db_url: str, dev: int) -> list[tuple[str, int, str]]:
    with psycopg.connect(db_url) as conn:
        return [
            (k, int((t - T0).total_seconds() // 60), s)
            for k, t, s in conn.execute(
                "SELECT kind, occurred_at, severity FROM events WHERE device_id = %s "
                "ORDER BY occurred_at, kind",
                (dev,),
            ).fetchall()
        ]


@pytest.fixture
def zone_agency(db_url: str) -> str:
    agency = _agency()
    with psycopg.connect(db_url) as conn:
        upsert_zone(
            conn,
            agency=agency,
            name="box",
            kind="restricted",
            geom_wkb=shapely.to_wkb(box(10.0, 10.0, 10.1, 10.1)),
        )
    return agency


TRACK = [(i, 9.95 + 0.01 * i, 10.05) for i in range(25)]  # in at ~minute 5, out at ~15


async def test_live_late_shuffled_and_resent_give_the_same_events(
    db_url: str, zone_agency: str
) -> None:
    live_dev = _device(db_url, zone_agency)
    hook = EventHook(db_url, gather_s=0)  # one run per batch, however close together
    for p in TRACK:
        await _ingest(db_url, hook, live_dev, [p])
    live = _events(db_url, live_dev)
    assert live == [("zone_enter", 5, "critical"), ("zone_exit", 16, "info")]
    rng = random.Random(5)
    for _ in range(3):
        dev = _device(db_url, zone_agency)
        pts = TRACK[:]
        rng.shuffle(pts)
        for i in range(0, len(pts), 4):
            await _ingest(db_url, hook, dev, pts[i : i + 4])
        await _ingest(db_url, hook, dev, TRACK[3:9])  # resend
        assert _events(db_url, dev) == live
    await hook.close()


async def test_a_late_fix_moves_the_enter_event(db_url: str, zone_agency: str) -> None:
    dev = _device(db_url, zone_agency)
    hook = EventHook(db_url)
    await _ingest(db_url, hook, dev, [(0, 9.9, 10.05), (10, 10.05, 10.05)])
    assert _events(db_url, dev) == [("zone_enter", 10, "critical")]
    await _ingest(db_url, hook, dev, [(5, 10.02, 10.05)])  # buffered fix, already inside
    assert _events(db_url, dev) == [("zone_enter", 5, "critical")]
    await hook.close()


async def test_a_zone_drawn_now_applies_to_the_next_fix(db_url: str) -> None:
    """The hook caches its context, but not past a change of zones: the admin draws a zone and
    the team's next fix into it raises the event (issue 20: it was missed for up to 30 s)."""
    agency = _agency()
    dev = _device(db_url, agency)
    hook = EventHook(db_url, gather_s=0)
    await _ingest(db_url, hook, dev, [(0, 20.0, 20.05), (1, 20.01, 20.05)])  # context loaded
    with psycopg.connect(db_url) as conn:
        upsert_zone(
            conn,
            agency=agency,
            name="drawn now",
            kind="restricted",
            geom_wkb=shapely.to_wkb(box(20.02, 20.0, 20.1, 20.1)),
        )
    await _ingest(db_url, hook, dev, [(2, 20.03, 20.05)])
    assert _events(db_url, dev) == [("zone_enter", 2, "critical")]
    await hook.close()


async def test_border_crossing_on_afg_tjk(db_url: str) -> None:
    agency = _agency()
    with psycopg.connect(db_url) as conn:
        line = shapely.from_wkb(
            conn.execute("SELECT ST_AsBinary(geom) FROM borders WHERE code = 'AFG-TJK'").fetchone()[
                0
            ]
        )
        crossing_point_zones(conn, 3000, agency=agency, shared=False)
    hook = EventHook(db_url)
    far = line.interpolate(0.5, normalized=True)  # far from Panji Poyon; ±0.06° is ~2.5 km
    dev = _device(db_url, agency)
    await _ingest(
        db_url, hook, dev, [(0, far.x - 0.06, far.y - 0.06), (1, far.x + 0.06, far.y + 0.06)]
    )
    at_bcp = line.interpolate(line.project(shapely.Point(PANJI_POYON)))
    assert at_bcp.distance(shapely.Point(PANJI_POYON)) < 0.02
    dev2 = _device(db_url, agency)
    await _ingest(
        db_url, hook, dev2, [(0, at_bcp.x, at_bcp.y - 0.005), (1, at_bcp.x, at_bcp.y + 0.005)]
    )
    crossed = [e for e in _events(db_url, dev) if e[0] == "border_cross"]
    assert crossed == [("border_cross", 1, "critical")]
    assert [e for e in _events(db_url, dev2) if e[0] == "border_cross"] == []
    await hook.close()


def test_border_strip_crossing_points_and_file_import(db_url: str, tmp_path: Path) -> None:
    agency = _agency()
    gj = tmp_path / "zones.geojson"
    gj.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Area 1", "kind": "patrol_area"},
                        "geometry": shapely.geometry.mapping(box(70, 40, 70.1, 40.1)),
                    }
                ],
            }
        )
    )
    with psycopg.connect(db_url) as conn:
        sid = border_strip(conn, "TJK-KGZ", 5, agency=agency)
        n = crossing_point_zones(conn, 2000, agency=agency)
        ids = import_zones(conn, gj, agency=agency)
        ids += import_zones(conn, _gpkg_in_utm(tmp_path), agency=agency, kind="restricted")
        back = conn.execute(
            "SELECT ST_XMin(geom), ST_YMax(geom) FROM zones WHERE id = %s", (ids[-1],)
        ).fetchone()
        assert back == pytest.approx((71.0, 40.1), abs=1e-6)
        area_strip = conn.execute(
            "SELECT ST_Area(geom::geography) / 1e6, "
            "(SELECT ST_Length(geom::geography) / 1e3 FROM borders "
            "WHERE code = 'KGZ-TJK') FROM zones WHERE id = %s",
            (sid,),
        ).fetchone()
        with pytest.raises(NotFound):
            border_strip(conn, "AAA-BBB", 5, agency=agency)
        rows = list_zones(conn, agency)
    km2, length_km = area_strip
    assert 0.9 * 10 * length_km < km2 < 1.05 * 10 * length_km  # ~ 2 x 5 km x length
    assert n >= 10 and len(ids) == 2
    assert {r[3] for r in rows} == {"border_strip", "crossing_point", "patrol_area", "restricted"}
    bcp = next(r for r in rows if r[3] == "crossing_point")
    assert 12.0 < float(bcp[4]) < 12.7  # pi * 2 km^2


def _gpkg_in_utm(tmp_path: Path) -> Path:
    """A GeoPackage polygon stored in UTM 42N (so the import must reproject)."""
    import numpy as np
    from pyogrio.raw import write
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, 32642, always_xy=True)
    g = shapely.transform(box(71, 40, 71.1, 40.1), lambda xy: np.column_stack(tr.transform(*xy.T)))
    path = tmp_path / "zones.gpkg"
    write(
        path,
        geometry=np.array([shapely.to_wkb(g)], dtype=object),
        field_data=[np.array(["Restricted 1"], dtype=object)],
        fields=["name"],
        driver="GPKG",
        crs="EPSG:32642",
        geometry_type="Polygon",
    )
    return path


async def test_lifecycle_and_notify_on_commit(db_url: str, zone_agency: str) -> None:
    dev = _device(db_url, zone_agency)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as listener:
        await listener.execute("LISTEN geomon_events")
        hook = EventHook(db_url)
        new = await _ingest(db_url, hook, dev, [(0, 9.9, 10.05), (1, 10.05, 10.05)])
        assert len(new) == 1
        note = await asyncio.wait_for(anext(listener.notifies()), 5)
        assert json.loads(note.payload) == {"events": new}
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            acked = await ev.acknowledge(conn, new[0], user="ops1")
            assert (acked["state"], acked["acknowledged_by"]) == ("acknowledged", "ops1")
            with pytest.raises(InvalidRequest):
                await ev.acknowledge(conn, new[0], user="ops1")
            done = await ev.resolve(conn, new[0], user="ops2", note="false alarm")
            assert (done["state"], done["resolved_by"], done["note"]) == (
                "resolved",
                "ops2",
                "false alarm",
            )
            with pytest.raises(NotFound):
                await ev.resolve(conn, 10**12, user="x")
            await conn.commit()
            listed = await ev.list_events(conn, device_id=dev, states=["resolved"])
            assert [e["id"] for e in listed] == new
        note = await asyncio.wait_for(anext(listener.notifies()), 5)
        assert json.loads(note.payload) == {"events": new}
        await hook.close()


async def test_io_flags_are_suppressed_while_open_and_silent_teams(
    db_url: str, zone_agency: str
) -> None:
    dev = _device(db_url, zone_agency)
    hook = EventHook(db_url)
    await _ingest(db_url, hook, dev, [(100, 0, 0), (101, 0, 0.001)], attrs={"alarm": "sos"})
    await _ingest(db_url, hook, dev, [(102, 0, 0.002)])
    await _ingest(db_url, hook, dev, [(103, 0, 0.003)], attrs={"alarm": "sos"})
    assert [e[:2] for e in _events(db_url, dev)] == [("sos", 100)]  # 2nd onset folded in
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        ctx = await load_context(conn)
        now = T0 + timedelta(minutes=103 + 30)
        first = await check_silent(conn, ctx, now)
        again = await check_silent(conn, ctx, now + timedelta(minutes=1))
        await conn.commit()
    rows = _events(db_url, dev)
    assert ("silent", 133, "warning") in rows and len(first) >= 1 and again == []
    await _ingest(db_url, hook, dev, [(140, 0, 0.004)])
    with psycopg.connect(db_url) as conn:
        state = conn.execute(
            "SELECT state, note FROM events WHERE device_id = %s AND kind = 'silent'", (dev,)
        ).fetchone()
    assert state == ("resolved", "device reported again")
    await hook.close()


async def test_a_zone_stop_longer_than_the_agency_lookback_still_fires(db_url: str) -> None:
    """A border strip whose own rules say stop_minutes 90 (the agency keeps the default 20):
    the hook must look back far enough to see where a 100-minute stop began, live batch after
    live batch (cached windows) and in a full reload alike."""
    agency = _agency()
    with psycopg.connect(db_url) as conn:
        upsert_zone(
            conn,
            agency=agency,
            name="strip",
            kind="border_strip",
            geom_wkb=shapely.to_wkb(box(30.0, 30.0, 30.1, 30.1)),
            attrs={"rules": {"stop_minutes": 90}},
        )
    for hook in (EventHook(db_url, gather_s=0), EventHook(db_url, gather_s=0, cache_rows=0)):
        dev = _device(db_url, agency)
        # driving in from the west (minutes 0-4), then stopped inside from minute 5 to 110
        for m in range(0, 111):
            moving = m < 5
            lon = 29.97 + 0.01 * m if moving else 30.05
            rows = [
                stage_row(
                    dev,
                    Position(
                        "x", T0 + timedelta(minutes=m), 30.05, lon, speed_mps=8.0 if moving else 0.0
                    ),
                    datetime.now(UTC),
                )
            ]
            async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
                await write_positions(conn, rows)
            await hook(spans_of(rows))
        await hook.close()
        stops = [e for e in _events(db_url, dev) if e[0] == "stop_in_zone"]
        assert stops == [("stop_in_zone", 95, "warning")], _events(db_url, dev)
