"""border_cross with a tolerance, in a real PostGIS through the ingest hook (issue 20).

Along the whole AFG-TJK line (Natural Earth 1:10m, the Panj): tracks that run 100 m and 300 m
from the line with fixes 600 m apart — at 100 m their straight chords cut the line's bends 28
times — raise nothing, on either bank and with or without a home country. Near Khorog a true
crossing raises one critical event at the first fix past the depth; a border's own depth in
the rules moves it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
import shapely
from pyproj import Transformer

from geomon.model import Position
from geomon.pipeline.eventing import EventHook, spans_of
from geomon.reference import NE_BORDER_ACCURACY_M
from geomon.store.devices import add_device, ensure_agency
from geomon.store.event_inputs import put_rules
from geomon.store.positions import stage_row, write_positions

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
EVERY = timedelta(seconds=10)
KHOROG = (71.55337, 37.49039)  # Khorog dry port (places_central_asia.csv)
TO_UTM = Transformer.from_crs(4326, 32642, always_xy=True)  # UTM 42N: metres round Khorog
TO_LONLAT = Transformer.from_crs(32642, 4326, always_xy=True)
DEPTH_M = NE_BORDER_ACCURACY_M + 50  # the default: stated accuracy + GPS margin


def _utm(g: object) -> object:
    return shapely.transform(g, lambda xy: np.column_stack(TO_UTM.transform(xy[:, 0], xy[:, 1])))


def _lonlat(xy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    x, y = TO_LONLAT.transform([p[0] for p in xy], [p[1] for p in xy])
    return list(zip(x, y, strict=True))


@pytest.fixture(scope="module")
def panj(db_url: str) -> tuple[object, object, object]:
    """The AFG-TJK line within 25 km of Khorog (longest piece), the whole line and Tajikistan,
    all in UTM 42N."""
    with psycopg.connect(db_url) as conn:
        line_wkb, tjk_wkb = conn.execute(
            "SELECT ST_AsBinary(b.geom), ST_AsBinary(c.geom) FROM borders b, countries c "
            "WHERE b.code = 'AFG-TJK' AND c.iso_a3 = 'TJK'"
        ).fetchone()
    line = _utm(shapely.from_wkb(bytes(line_wkb)))
    tjk = _utm(shapely.from_wkb(bytes(tjk_wkb)))
    near = line.intersection(_utm(shapely.Point(KHOROG)).buffer(25_000))
    piece = max(getattr(near, "geoms", [near]), key=lambda g: g.length)
    return piece, line, tjk


def _parallel(panj: tuple[object, object, object], off_m: float, tajik: bool) -> list:
    """Fixes every 600 m along the whole line at ``off_m`` on the Tajik (or Afghan) bank."""
    _, line, tjk = panj
    for signed in (off_m, -off_m):
        curve = shapely.offset_curve(line, signed)
        mid = curve.interpolate(0.5, normalized=True)
        if tjk.contains(mid) == tajik:
            break
    pts = [curve.interpolate(s) for s in np.arange(0, curve.length, 600.0)]
    ends = shapely.MultiPoint(
        [g.coords[i] for g in getattr(line, "geoms", [line]) for i in (0, -1)]
    )
    # the ends are tri-points: a team without a home country raises there on moving away
    pts = [
        p for p in pts if abs(line.distance(p) - off_m) < 0.05 * off_m and ends.distance(p) > 5e3
    ]
    assert len(pts) > 1900 and all(tjk.contains(p) == tajik for p in pts)
    return [(p.x, p.y) for p in pts]


def _chords_cutting(xy: list[tuple[float, float]], line: object) -> int:
    return sum(
        shapely.LineString([a, b]).intersects(line) for a, b in zip(xy, xy[1:], strict=False)
    )


def _across(panj: tuple[object, object, object], step_m: float = 600.0) -> list:
    """From 3 km inside Tajikistan to 3 km inside Afghanistan, square to the line."""
    piece, line, tjk = panj
    at = piece.interpolate(0.5, normalized=True)
    ahead = piece.interpolate(piece.project(at) + 100)
    tx, ty = ahead.x - at.x, ahead.y - at.y
    nx, ny = -ty / np.hypot(tx, ty), tx / np.hypot(tx, ty)
    if not tjk.contains(shapely.Point(at.x - 1000 * nx, at.y - 1000 * ny)):
        nx, ny = -nx, -ny  # -n points into Tajikistan
    steps = np.arange(-3000, 3000 + 1, step_m)
    pts = [(at.x + s * nx, at.y + s * ny) for s in steps]
    dist = [line.distance(shapely.Point(p)) for p in pts]
    assert all(abs(d - abs(s)) < 150 for d, s in zip(dist, steps, strict=True)), dist
    return pts


def _agency(db_url: str, country: str | None) -> str:
    code = "B" + uuid.uuid4().hex[:6].upper()
    with psycopg.connect(db_url) as conn:
        ensure_agency(conn, code, code, country)
    return code


async def _drive(db_url: str, agency: str, xy: list[tuple[float, float]]) -> list[tuple]:
    """One new device drives ``xy`` (UTM), a fix every 10 s, in batches through the hook;
    returns its events (kind, fix index, severity, attrs)."""
    with psycopg.connect(db_url) as conn:
        dev = add_device(conn, uid=uuid.uuid4().hex[:12], kind="tracker", agency=agency).id
    hook = EventHook(db_url, gather_s=0)
    rows = [
        stage_row(dev, Position("x", T0 + i * EVERY, lat, lon, speed_mps=10.0), T0)
        for i, (lon, lat) in enumerate(_lonlat(xy))
    ]
    n = 5 if len(rows) < 100 else 97
    for k in range(0, len(rows), n):
        async with await psycopg.AsyncConnection.connect(db_url) as conn, conn.transaction():
            await write_positions(conn, rows[k : k + n])
        await hook(spans_of(rows[k : k + n]))
    await hook.close()
    with psycopg.connect(db_url) as conn:
        return [
            (k, (t - T0) // EVERY, s, a)
            for k, t, s, a in conn.execute(
                "SELECT kind, occurred_at, severity, attrs FROM events WHERE device_id = %s "
                "ORDER BY occurred_at",
                (dev,),
            ).fetchall()
        ]


@pytest.mark.parametrize("country", ["TJK", None])
@pytest.mark.parametrize("off_m", [100.0, 300.0])
async def test_sparse_tracks_along_the_line_raise_nothing(
    db_url: str, panj: tuple, off_m: float, country: str | None
) -> None:
    agency = _agency(db_url, country)
    cut = 0
    for tajik in (True, False):
        xy = _parallel(panj, off_m, tajik)
        cut += _chords_cutting(xy, panj[1])
        assert await _drive(db_url, agency, xy) == []
    if off_m == 100:
        assert cut > 20  # the chords do cross the line: the old segment rule raised here


async def test_a_true_crossing_fires_at_the_first_fix_past_the_depth(
    db_url: str, panj: tuple
) -> None:
    xy = _across(panj)
    first_past = next(i for i, s in enumerate(np.arange(-3000, 3001, 600)) if s >= DEPTH_M)
    for country in ("TJK", None):
        got = await _drive(db_url, _agency(db_url, country), xy)
        assert [(k, i, s) for k, i, s, _ in got] == [("border_cross", first_past, "critical")]
        assert got[0][3]["border"] == "AFG-TJK"
        assert got[0][3]["tolerance_m"] == DEPTH_M
        assert DEPTH_M <= got[0][3]["depth_m"] < DEPTH_M + 600
    # back home again: a Tajik team raises nothing, a team without a home country once more
    back = xy + xy[::-1][1:]
    assert len(await _drive(db_url, _agency(db_url, "TJK"), back)) == 1
    assert len(await _drive(db_url, _agency(db_url, None), back)) == 2


async def test_a_borders_own_depth_in_the_rules(db_url: str, panj: tuple) -> None:
    agency = _agency(db_url, "TJK")
    with psycopg.connect(db_url) as conn:
        put_rules(conn, agency, {"border_cross_depth_m": {"AFG-TJK": 500}})
    got = await _drive(db_url, agency, _across(panj))
    assert [(k, i) for k, i, _, _ in got] == [("border_cross", 6)]  # 600 m past: fix 6
