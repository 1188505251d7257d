"""OGC tracks pages through track_days equal the lines aggregated from every fix (the query
before migration 0030), per agency under row-level security, page by page."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from geomon.store import features

# The tracks source before migration 0030: every valid fix aggregated, the window applied to
# the finished lines. The reference the new pages must equal.
REFERENCE = """
SELECT s.device_id, s.day, ST_AsGeoJSON(s.geom, 7), s.n_fixes, s.t0, s.t1 FROM (
  SELECT p.device_id, (p.fix_time AT TIME ZONE 'UTC')::date AS day,
         ST_MakeLine(p.geom ORDER BY p.fix_time) geom, min(p.fix_time) t0, max(p.fix_time) t1,
         count(*) n_fixes
  FROM positions p WHERE p.valid GROUP BY 1, 2) s
WHERE (%(x0)s::float8 IS NULL OR (s.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
       AND ST_Intersects(s.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
  AND (%(t0)s::timestamptz IS NULL OR s.t1 >= %(t0)s)
  AND (%(t1)s::timestamptz IS NULL OR s.t0 <= %(t1)s)
  AND s.device_id = ANY(%(devs)s)
ORDER BY 1, 2
"""
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(db_url: str) -> dict[str, Any]:
    """Two agencies with three devices each, fixes over five days around (70, 40); a device
    that crosses the test box on a segment without a fix inside it; invalid fixes."""
    rnd = random.Random(16)
    out: dict[str, Any] = {"agencies": [], "devices": {}}
    with psycopg.connect(db_url) as conn:
        for a in range(2):
            code = f"TRK{a}{uuid.uuid4().hex[:6]}"
            (aid,) = conn.execute(
                "INSERT INTO agencies (code, name) VALUES (%s, %s) RETURNING id", (code, code)
            ).fetchone()  # type: ignore[misc]
            out["agencies"].append(aid)
            devs = []
            for d in range(3):
                (did,) = conn.execute(
                    "INSERT INTO devices (uid, kind, agency_id, name) "
                    "VALUES (%s, 'tracker', %s, 'trk') RETURNING id",
                    (f"trk-{uuid.uuid4().hex[:10]}", aid),
                ).fetchone()  # type: ignore[misc]
                devs.append(did)
                rows = []
                for day in range(5):
                    if (d + day) % 4 == 3:
                        continue  # some device-days without fixes
                    x, y = 70 + rnd.uniform(-1, 1), 40 + rnd.uniform(-1, 1)
                    for k in range(40):
                        x += rnd.uniform(-0.05, 0.05)
                        y += rnd.uniform(-0.05, 0.05)
                        t = T0 + timedelta(days=day, minutes=30 * k + rnd.randint(0, 20))
                        rows.append((did, t, x, y, rnd.random() > 0.1))
                # a jump across the box (69.9..70.1, 39.9..40.1) with no fix inside it
                if d == 2:
                    t = T0 + timedelta(days=1, hours=23, minutes=50)
                    rows += [
                        (did, t, 69.5, 40.0, True),
                        (did, t + timedelta(minutes=5), 70.5, 40.0, True),
                    ]
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO positions (device_id, fix_time, geom, valid) VALUES "
                        "(%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s) "
                        "ON CONFLICT DO NOTHING",
                        [(r[0], r[1], r[2], r[3], r[4]) for r in rows],
                    )
            out["devices"][aid] = devs
        conn.commit()
    return out


@pytest.fixture
async def aconn(db_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(db_url) as c:
        yield c


@pytest.fixture
async def app_aconn(app_db_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(app_db_url) as c:
        yield c


async def _all_pages(
    conn: psycopg.AsyncConnection, q: features.ItemQuery, devs: list[int]
) -> list[tuple[Any, ...]]:
    """Every page of the collection, limit 2, restricted to ``devs`` (other tests' rows)."""
    spec = features.STATIC["tracks"]
    out: list[tuple[Any, ...]] = []
    after = None
    while True:
        page = await features.read_items(
            conn,
            spec,
            features.ItemQuery(q.bboxes, q.start, q.end, limit=2, after=after),
            count=False,
        )
        for f in page.features:
            feat = features.loads_feature(f)
            pr = feat["properties"]
            if pr["device_id"] in devs:
                out.append((pr["device_id"], pr["day"], pr["n_fixes"], feat["geometry"]))
        if not page.has_more:
            break
        after = page.last_key
    back: list[tuple[Any, ...]] = []
    before = None
    while True:  # and backwards from the end, a page of 2 at a time
        page = await features.read_items(
            conn,
            spec,
            features.ItemQuery(
                q.bboxes, q.start, q.end, limit=2, before=before or (10**9, "2100-01-01")
            ),
            count=False,
        )
        for f in reversed(page.features):
            feat = features.loads_feature(f)
            pr = feat["properties"]
            if pr["device_id"] in devs:
                back.append((pr["device_id"], pr["day"], pr["n_fixes"], feat["geometry"]))
        if not page.has_more:
            break
        before = page.first_key
    assert back[::-1] == out
    return out


async def _reference(
    conn: psycopg.AsyncConnection, q: features.ItemQuery, devs: list[int]
) -> list[tuple[Any, ...]]:
    b = q.bboxes[0] if q.bboxes else (None, None, None, None)
    cur = await conn.execute(
        REFERENCE,
        {"x0": b[0], "y0": b[1], "x1": b[2], "y1": b[3], "t0": q.start, "t1": q.end, "devs": devs},
    )
    return [(r[0], r[1].isoformat(), r[3], json.loads(r[2])) for r in await cur.fetchall()]


QUERIES = [
    features.ItemQuery(),
    features.ItemQuery(bboxes=((69.9, 39.9, 70.1, 40.1),)),
    features.ItemQuery(bboxes=((10.0, 10.0, 11.0, 11.0),)),  # no data
    features.ItemQuery(start=T0 + timedelta(days=1, hours=5), end=T0 + timedelta(days=2, hours=1)),
    features.ItemQuery(bboxes=((69.5, 39.5, 70.5, 40.5),), start=T0 + timedelta(days=3, hours=12)),
]


@pytest.mark.parametrize("qi", range(len(QUERIES)))
async def test_pages_equal_the_aggregate_of_all_fixes(
    seeded: dict[str, Any], aconn: psycopg.AsyncConnection, qi: int
) -> None:
    devs = [d for ds in seeded["devices"].values() for d in ds]
    q = QUERIES[qi]
    want = await _reference(aconn, q, devs)
    got = await _all_pages(aconn, q, devs)
    assert got == want
    if qi == 2:
        assert want == []
    elif qi == 1:  # the crossing without a fix inside the box is found
        crossing = seeded["devices"][seeded["agencies"][0]][2]
        assert (crossing, "2026-11-02") in {(g[0], g[1]) for g in got}


async def test_pages_per_agency_under_rls(
    seeded: dict[str, Any], app_aconn: psycopg.AsyncConnection
) -> None:
    a0, a1 = seeded["agencies"]
    devs = seeded["devices"][a0] + seeded["devices"][a1]
    await app_aconn.execute(
        "SELECT set_config('geomon.system', 'off', false), "
        "set_config('geomon.agency_id', %s, false), set_config('geomon.role', 'viewer', false)",
        (str(a0),),
    )
    got = await _all_pages(app_aconn, features.ItemQuery(), devs)
    assert got and {g[0] for g in got} <= set(seeded["devices"][a0])
    want = await _reference(app_aconn, features.ItemQuery(), devs)
    assert got == want  # the reference under the same RLS sees agency 0's fixes only
    cur = await app_aconn.execute(
        "SELECT count(*) FROM track_days WHERE device_id = ANY(%s)", (seeded["devices"][a1],)
    )
    assert (await cur.fetchone()) == (0,)


async def test_track_days_follow_inserts_and_updates(
    seeded: dict[str, Any], aconn: psycopg.AsyncConnection
) -> None:
    dev = seeded["devices"][seeded["agencies"][1]][0]
    t = T0 + timedelta(days=20, hours=3)
    await aconn.execute(
        "INSERT INTO positions (device_id, fix_time, geom, valid) VALUES "
        "(%s, %s, ST_SetSRID(ST_MakePoint(71, 41), 4326), false)",
        (dev, t),
    )
    cur = await aconn.execute(
        "SELECT count(*) FROM track_days WHERE device_id = %s AND day = %s", (dev, t.date())
    )
    assert (await cur.fetchone()) == (0,)  # invalid fixes make no track
    await aconn.execute(
        "UPDATE positions SET valid = true WHERE device_id = %s AND fix_time = %s", (dev, t)
    )
    await aconn.execute(
        "INSERT INTO positions (device_id, fix_time, geom) VALUES "
        "(%s, %s, ST_SetSRID(ST_MakePoint(72, 42), 4326))",
        (dev, t + timedelta(hours=1)),
    )
    cur = await aconn.execute(
        "SELECT ST_AsText(extent) FROM track_days WHERE device_id = %s AND day = %s",
        (dev, t.date()),
    )
    assert (await cur.fetchone()) == ("POLYGON((71 41,71 42,72 42,72 41,71 41))",)
    await aconn.rollback()


async def test_collection_extent_covers_the_valid_fixes_and_follows_new_ones(
    seeded: dict[str, Any], aconn: psycopg.AsyncConnection
) -> None:
    spec = features.STATIC["tracks"]
    cur = await aconn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom)::geometry e FROM positions WHERE valid) x"
    )
    x0, y0, x1, y1 = await cur.fetchone()  # type: ignore[misc]
    (g0, h0, g1, h1) = (await features.extent(aconn, spec))["spatial"]["bbox"][0]
    assert g0 <= x0 and h0 <= y0 and g1 >= x1 and h1 >= y1  # deleted fixes may leave it larger
    dev = seeded["devices"][seeded["agencies"][0]][0]
    await aconn.execute(  # in this transaction only (rolled back)
        "INSERT INTO positions (device_id, fix_time, geom) VALUES "
        "(%s, %s, ST_SetSRID(ST_MakePoint(179.5, -89), 4326)), "
        "(%s, %s, ST_SetSRID(ST_MakePoint(-179.5, 89), 4326))",
        (dev, T0 + timedelta(days=40), dev, T0 + timedelta(days=41)),
    )
    assert (await features.extent(aconn, spec))["spatial"]["bbox"] == [[-179.5, -89, 179.5, 89]]
    await aconn.rollback()
