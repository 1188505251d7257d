"""Reads for the reports engine (geomon.reports): fixes as arrays, places, and the weekly
aggregates of one crossing point's area. Row-level security decides what the caller sees.

An area is a circle of ``radius_m`` around a place's point: ``geom && box`` narrows with the
GiST index (PostGIS's ``&&`` is usable under RLS), ``ST_DWithin`` on geography decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg

from geomon.errors import NotFound

M_PER_DEG_LAT = 110_574.0


@dataclass(frozen=True)
class Area:
    """A circle around a point, measured in the point's local equirectangular plane (metres
    east ``kx`` and north ``ky`` per degree at the point: under 0.5 % from the geodesic within
    100 km, cheap enough for every fix); ``box`` is its bounding box in degrees."""

    lon: float
    lat: float
    radius_m: float

    @property
    def kx(self) -> float:
        return 111_320.0 * max(float(np.cos(np.radians(self.lat))), 0.01)

    @property
    def box(self) -> tuple[float, float, float, float]:
        dx, dy = self.radius_m / self.kx, self.radius_m / M_PER_DEG_LAT
        return (self.lon - dx, self.lat - dy, self.lon + dx, self.lat + dy)

    def params(self) -> dict[str, float]:
        x0, y0, x1, y1 = self.box
        return {"lon": self.lon, "lat": self.lat, "r": self.radius_m, "kx": self.kx,
                "ky": M_PER_DEG_LAT, "x0": x0, "y0": y0, "x1": x1, "y1": y1}  # fmt: skip


@dataclass(frozen=True)
class Windows:
    """Numbered time windows [t0, t1) aggregated in one query (this week, earlier weeks…)."""

    index: list[int]
    t0: list[datetime]
    t1: list[datetime]

    def params(self) -> dict[str, Any]:
        return {"wi": self.index, "wt0": self.t0, "wt1": self.t1}


_WINDOWS = "w(i, t0, t1) AS (SELECT * FROM unnest(%(wi)s::int[], %(wt0)s::timestamptz[], %(wt1)s::timestamptz[]))"  # noqa: E501
# metres east and north of the area's centre
_X = "((ST_X({g}) - %(lon)s) * %(kx)s)"
_Y = "((ST_Y({g}) - %(lat)s) * %(ky)s)"
_IN_AREA = (
    "{g} && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) "
    f"AND {_X} ^ 2 + {_Y} ^ 2 <= %(r)s ^ 2"
)

_DEVICES = """
SELECT d.id, d.uid, d.name, a.code FROM devices d JOIN agencies a ON a.id = d.agency_id
WHERE d.kind <> 'sensor' AND (%(ids)s::int[] IS NULL OR d.id = ANY(%(ids)s)) ORDER BY d.id
"""


async def devices(conn: psycopg.AsyncConnection, ids: list[int] | None) -> list[dict[str, Any]]:
    """Visible moving devices (not fixed sensors), all or the ones asked for; an asked-for id
    the caller cannot see is a NotFound (no hint that it exists)."""
    cur = await conn.execute(_DEVICES, {"ids": ids})
    rows = [
        dict(zip(("id", "uid", "name", "agency"), r, strict=True)) for r in await cur.fetchall()
    ]
    missing = sorted(set(ids or ()) - {r["id"] for r in rows})
    if missing:
        raise NotFound(f"no device {missing[0]}")
    return rows


_FIXES = """
SELECT extract(epoch FROM fix_time)::float8, ST_X(geom), ST_Y(geom), speed_mps
FROM positions WHERE device_id = %s AND fix_time >= %s AND fix_time < %s AND valid
ORDER BY fix_time
"""


async def fix_arrays(
    conn: psycopg.AsyncConnection, device_id: int, t0: datetime, t1: datetime
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], ...]:
    """(epoch s, lon, lat, speed m/s with NaN for none) of a device's valid fixes in [t0, t1)."""
    cur = await conn.execute(_FIXES, (device_id, t0, t1))
    rows = await cur.fetchall()
    if not rows:
        return tuple(np.zeros(0) for _ in range(4))
    arr = np.array([[r[0], r[1], r[2], np.nan if r[3] is None else r[3]] for r in rows])
    return tuple(np.ascontiguousarray(arr[:, k]) for k in range(4))


_PLACE_COLS = ("id", "name", "alt_names", "kind", "countries", "lon", "lat")
_PLACES = "SELECT id, name, alt_names, kind, countries, ST_X(geom), ST_Y(geom) FROM places"


async def places(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    cur = await conn.execute(_PLACES + " ORDER BY id")
    return [dict(zip(_PLACE_COLS, r, strict=True)) for r in await cur.fetchall()]


async def find_place(conn: psycopg.AsyncConnection, key: str) -> dict[str, Any]:
    """A place by id, name, alternative name or the first word(s) of its name ("Dostuk" for
    "Dostuk road BCP"), case-insensitive; on ties an exact match first, then the lowest id."""
    cur = await conn.execute(
        _PLACES + " WHERE id::text = %(k)s OR lower(name) = lower(%(k)s) OR lower(%(k)s) = ANY("
        "SELECT lower(n) FROM unnest(alt_names) n) "
        "OR starts_with(lower(name), lower(%(k)s) || ' ') "
        "ORDER BY (id::text = %(k)s) DESC, (lower(name) = lower(%(k)s)) DESC, id LIMIT 1",
        {"k": key},
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no place {key!r}: give a place id or name from /ogc/collections/places")
    return dict(zip(_PLACE_COLS, row, strict=True))


_CASES = f"""
WITH {_WINDOWS}
SELECT w.i, c.category, c.substance, count(*), sum(c.quantity_kg), sum(c.quantity_count)
FROM w JOIN cases c ON c.occurred_at >= w.t0 AND c.occurred_at < w.t1
WHERE c.deleted_at IS NULL AND {_IN_AREA.format(g="c.geom")}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


async def case_totals(
    conn: psycopg.AsyncConnection, area: Area, windows: Windows
) -> list[tuple[int, str, str | None, int, float | None, int | None]]:
    """(window, category, substance, cases, kg, counted units) of live cases in the area."""
    cur = await conn.execute(_CASES, {**area.params(), **windows.params()})
    return [(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else int(r[5]))
            for r in await cur.fetchall()]  # fmt: skip


_EVENTS = f"""
WITH {_WINDOWS}
SELECT w.i, e.kind, e.severity, count(*)
FROM w JOIN events e ON e.occurred_at >= w.t0 AND e.occurred_at < w.t1
WHERE {_IN_AREA.format(g="e.geom")}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


async def event_totals(
    conn: psycopg.AsyncConnection, area: Area, windows: Windows
) -> list[tuple[int, str, str, int]]:
    """(window, kind, severity, events) of events placed in the area."""
    cur = await conn.execute(_EVENTS, {**area.params(), **windows.params()})
    return [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


_OBSERVATIONS = f"""
WITH {_WINDOWS}
SELECT w.i, o.kind, count(*), sum(o.value)
FROM w JOIN observations o ON o.observed_at >= w.t0 AND o.observed_at < w.t1
WHERE {_IN_AREA.format(g="o.geom")}
GROUP BY 1, 2 ORDER BY 1, 2
"""


async def observation_totals(
    conn: psycopg.AsyncConnection, area: Area, windows: Windows
) -> list[tuple[int, str, int, float | None]]:
    """(window, kind, observations, sum of values) of sensor observations in the area."""
    cur = await conn.execute(_OBSERVATIONS, {**area.params(), **windows.params()})
    return [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


# Fixes in the area: one scan of the positions (geom, fix_time) GiST index per window (the
# box and the time range are both index conditions, under RLS too). Going through track_days
# and the primary key instead made the planner repeat the GiST scan for every device-day
# (bench/reports.py: over a minute at 10 M fixes); distances and cells are planar metres
# from the centre (geography per fix, and a devices join per fix, cost seconds there).
_PATROL = f"""
WITH {_WINDOWS},
q AS (
  SELECT w.i, p.device_id, p.fix_time, {_X.format(g="p.geom")} x, {_Y.format(g="p.geom")} y
  FROM w JOIN positions p ON p.fix_time >= w.t0 AND p.fix_time < w.t1
  WHERE p.valid AND {_IN_AREA.format(g="p.geom")}
),
s AS (
  SELECT i, device_id, fix_time, x, y, lag(x) OVER w1 x0, lag(y) OVER w1 y0,
         lag(fix_time) OVER w1 f0
  FROM q WINDOW w1 AS (PARTITION BY i, device_id ORDER BY fix_time)
),
d AS (
  SELECT i, device_id, count(*) n, min(fix_time) t0, max(fix_time) t1,
         coalesce(sum(sqrt((x - x0) ^ 2 + (y - y0) ^ 2))
                  FILTER (WHERE fix_time - f0 <= make_interval(secs => %(gap)s)), 0) m
  FROM s GROUP BY 1, 2
),
c AS (
  SELECT i, count(DISTINCT floor((x + %(r)s) / %(cell)s)::bigint * 1000000
                           + floor((y + %(r)s) / %(cell)s)::bigint) cells
  FROM q GROUP BY 1
)
SELECT d.i, d.device_id, dv.name, d.n, d.t0, d.t1, d.m, c.cells
FROM d JOIN c ON c.i = d.i JOIN devices dv ON dv.id = d.device_id ORDER BY 1, 2
"""


@dataclass(frozen=True)
class PatrolRow:
    window: int
    device_id: int
    name: str
    fixes: int
    first: datetime
    last: datetime
    distance_m: float
    window_cells: int  # grid cells with a fix of any device in the window


async def patrol_totals(
    conn: psycopg.AsyncConnection,
    area: Area,
    windows: Windows,
    *,
    cell_m: float,
    max_gap_s: float,
) -> list[PatrolRow]:
    """Per window and device: fixes in the area, first/last, metres between consecutive
    fixes in it (gaps over ``max_gap_s`` not counted); and per window the grid cells of
    ``cell_m`` (anchored at the area's south-west corner) that any device visited."""
    params = {**area.params(), **windows.params(), "cell": cell_m, "gap": max_gap_s}
    cur = await conn.execute(_PATROL, params)
    return [
        PatrolRow(r[0], r[1], r[2], r[3], r[4], r[5], float(r[6]), int(r[7]))
        for r in await cur.fetchall()
    ]


_CASE_POINTS = f"""
SELECT ST_X(geom), ST_Y(geom), category, coalesce(quantity_kg, 0) FROM cases
WHERE deleted_at IS NULL AND occurred_at >= %(t0)s AND occurred_at < %(t1)s
  AND {_IN_AREA.format(g="geom")}
ORDER BY occurred_at LIMIT %(limit)s
"""


async def case_points(
    conn: psycopg.AsyncConnection, area: Area, t0: datetime, t1: datetime, limit: int = 5000
) -> list[tuple[float, float, str, float]]:
    """(lon, lat, category, kg) of the week's cases in the area, for the map."""
    cur = await conn.execute(_CASE_POINTS, {**area.params(), "t0": t0, "t1": t1, "limit": limit})
    return [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


_CONTEXT = """
SELECT 'country', iso_a3, ST_AsBinary(ST_Intersection(ST_SimplifyPreserveTopology(geom, %(tol)s),
       ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)))
FROM countries WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
UNION ALL
SELECT 'border', code, ST_AsBinary(ST_Intersection(geom,
       ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)))
FROM borders WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
"""


async def map_context(
    conn: psycopg.AsyncConnection, box: tuple[float, float, float, float]
) -> list[tuple[str, str, bytes]]:
    """(layer, code, WKB) of the countries and borders inside ``box`` (reference tables)."""
    x0, y0, x1, y1 = box
    tol = max(x1 - x0, y1 - y0) / 2000
    cur = await conn.execute(_CONTEXT, {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "tol": tol})
    return [(r[0], r[1], bytes(r[2])) for r in await cur.fetchall()]


async def set_context(
    conn: psycopg.AsyncConnection, *, agency_id: int | None, role: str, user: str
) -> None:
    """The RLS context of a caller for this transaction (the CLI and the scheduler act as a
    viewer of one agency, as the API's request layer does per request); JIT off as in the
    API's pool (RLS and PostGIS costs make the planner compile short queries)."""
    await conn.execute(
        "SELECT set_config('geomon.system', 'off', true), "
        "set_config('geomon.agency_id', %s, true), set_config('geomon.role', %s, true), "
        "set_config('geomon.user', %s, true), set_config('jit', 'off', true)",
        ("" if agency_id is None else str(agency_id), role, user),
    )


async def agency_by_code(conn: psycopg.AsyncConnection, code: str) -> tuple[int, str | None]:
    cur = await conn.execute("SELECT id, country FROM agencies WHERE code = %s", (code,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no agency {code!r}")
    return int(row[0]), row[1]
