"""Locations and time steps of a forecast cube: grid cells, border sectors, points, zones.

Pure (shapely/numpy) and in a metric CRS chosen by the caller: geometries in, an index of the
location of every event out (-1 = none), then one ``bincount`` builds the
(locations × steps) count cube.

- grid: square cells of ``cell_m``; only cells with at least one event become locations;
- border sectors: each border line cut into segments of ``sector_m`` along its length
  (the last one shorter); an event belongs to the nearest segment within ``buffer_m``; the
  sector's shape is the strip of ``buffer_m`` around its segment (flat ends);
- points (crossing points): the nearest point within ``buffer_m``;
- zones: the first polygon that contains the event.

Time steps: calendar months (the window from the first of a month to the first of a month) or
weeks (Monday 00:00 UTC to Monday, ISO weeks); a window that is not a whole number of steps is
refused (InvalidRequest), never silently cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely
from shapely import ops

from geomon.errors import InvalidRequest, SpatialError

MIN_YEAR, MAX_YEAR = 1900, 2200  # window times outside are typos, not history
MAX_STEPS = {"month": 1200, "week": 1560}  # a century of months, thirty years of weeks


@dataclass(frozen=True)
class Units:
    """Locations: names and geometries (metric CRS), and each event's location (-1 = none)."""

    names: list[str]
    geoms: np.ndarray  # object array of shapely geometries
    event_loc: np.ndarray  # (n_events,) int


def grid_units(x: np.ndarray, y: np.ndarray, cell_m: float) -> Units:
    if cell_m <= 0:
        raise InvalidRequest("cell size must be positive")
    if len(x) == 0:
        return Units([], np.empty(0, dtype=object), np.empty(0, dtype=int))
    x0, y0 = np.floor(x.min() / cell_m) * cell_m, np.floor(y.min() / cell_m) * cell_m
    col = ((x - x0) // cell_m).astype(np.int64)
    row = ((y - y0) // cell_m).astype(np.int64)
    key = row * (col.max() + 1) + col
    uniq, loc = np.unique(key, return_inverse=True)
    ncol = col.max() + 1
    r, c = uniq // ncol, uniq % ncol
    xs, ys = x0 + c * cell_m, y0 + r * cell_m
    geoms = shapely.box(xs, ys, xs + cell_m, ys + cell_m)
    names = [f"cell r{int(a)} c{int(b)}" for a, b in zip(r, c, strict=True)]
    return Units(names, np.asarray(geoms, dtype=object), loc.astype(int))


def border_segments(line: shapely.Geometry, sector_m: float) -> list[shapely.LineString]:
    """Cut a (multi)line into pieces of ``sector_m`` along its length."""
    if sector_m <= 0:
        raise InvalidRequest("sector length must be positive")
    merged = ops.linemerge(line) if line.geom_type == "MultiLineString" else line
    parts = list(getattr(merged, "geoms", [merged]))
    out: list[shapely.LineString] = []
    for part in parts:
        n = max(1, int(np.ceil(part.length / sector_m)))
        if n > 20_000:
            raise InvalidRequest(f"{n} sectors: choose a longer sector length")
        for k in range(n):
            seg = ops.substring(part, k * sector_m, min((k + 1) * sector_m, part.length))
            if seg.geom_type == "LineString" and seg.length > 0:
                out.append(seg)
    if not out:
        raise SpatialError("the border line is empty")
    return out


def nearest_within(x: np.ndarray, y: np.ndarray, geoms: np.ndarray, max_m: float) -> np.ndarray:
    """Index of the nearest geometry within ``max_m`` of each point, -1 when none is."""
    loc = np.full(len(x), -1, dtype=int)
    if len(x) == 0 or len(geoms) == 0:
        return loc
    tree = shapely.STRtree(geoms)
    pts = shapely.points(x, y)
    (pi, gi) = tree.query_nearest(pts, max_distance=max_m, all_matches=False)
    loc[pi] = gi
    return loc


def within_polygons(x: np.ndarray, y: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """Index of a polygon containing each point (the lowest index when several), -1 if none."""
    loc = np.full(len(x), -1, dtype=int)
    if len(x) == 0 or len(polys) == 0:
        return loc
    tree = shapely.STRtree(polys)
    pi, gi = tree.query(shapely.points(x, y), predicate="within")
    order = np.lexsort((gi, pi))[::-1]  # so the lowest polygon index is written last
    loc[pi[order]] = gi[order]
    return loc


def sector_units(
    lines: list[tuple[str, shapely.Geometry]],
    x: np.ndarray,
    y: np.ndarray,
    sector_m: float,
    buffer_m: float,
) -> Units:
    names: list[str] = []
    segs: list[shapely.LineString] = []
    for code, line in lines:
        at = 0.0
        for seg in border_segments(line, sector_m):
            names.append(f"{code} km {at / 1000:.0f}-{(at + seg.length) / 1000:.0f}")
            segs.append(seg)
            at += seg.length
    seg_arr = np.asarray(segs, dtype=object)
    loc = nearest_within(x, y, seg_arr, buffer_m)
    strips = shapely.buffer(seg_arr, buffer_m, cap_style="flat")
    return Units(names, np.asarray(strips, dtype=object), loc)


def point_units(
    names: list[str], px: np.ndarray, py: np.ndarray, x: np.ndarray, y: np.ndarray, r_m: float
) -> Units:
    pts = np.asarray(shapely.points(px, py), dtype=object)
    return Units(list(names), pts, nearest_within(x, y, pts, r_m))


def zone_units(names: list[str], polys: np.ndarray, x: np.ndarray, y: np.ndarray) -> Units:
    polys = np.asarray(polys, dtype=object)
    return Units(list(names), polys, within_polygons(x, y, polys))


# --- time steps --------------------------------------------------------------------------


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise InvalidRequest("window times must carry a time zone (UTC)")
    return t.astimezone(UTC)


def step_starts(since: datetime, until: datetime, step: str) -> list[datetime]:
    """Start of every step in [since, until); refuses a window of partial steps."""
    since, until = _utc(since), _utc(until)
    if until <= since:
        raise InvalidRequest("the window is empty: 'until' must be after 'since'")
    midnight = since.hour == since.minute == since.second == since.microsecond == 0
    if step == "month":
        end_ok = until.day == 1 and until.time() == datetime.min.time()
        if not (midnight and since.day == 1 and end_ok):
            raise InvalidRequest(
                "a monthly window must run from the first of a month 00:00 UTC to the first "
                "of a month: it does not divide into whole months"
            )
        _check_steps((until.year - since.year) * 12 + until.month - since.month, step)
        out, t = [], since
        while t < until:
            out.append(t)
            t = t.replace(year=t.year + (t.month == 12), month=t.month % 12 + 1)
        return out
    if step == "week":
        if not (midnight and since.weekday() == 0) or (until - since) % timedelta(days=7):
            raise InvalidRequest(
                "a weekly window must start on a Monday 00:00 UTC and last whole weeks"
            )
        n = (until - since) // timedelta(days=7)
        _check_steps(n, step)
        return [since + timedelta(days=7 * k) for k in range(n)]
    raise InvalidRequest(f"step must be month or week, not {step!r}")


def _check_steps(n: int, step: str) -> None:
    if n > MAX_STEPS[step]:
        raise InvalidRequest(
            f"the window holds {n} {step}s: at most {MAX_STEPS[step]} are forecast in one run"
        )


def first_season_pos(since: datetime, step: str) -> int:
    """Season position of the first step: month 0..11, or ISO week - 1 (week 53 folds to 0)."""
    since = _utc(since)
    if step == "month":
        return since.month - 1
    return (since.isocalendar().week - 1) % 52


def step_index(epoch_s: np.ndarray, starts: list[datetime], until: datetime) -> np.ndarray:
    """Step of each event time (-1 outside the window)."""
    edges = np.array([s.timestamp() for s in starts] + [_utc(until).timestamp()])
    idx = np.searchsorted(edges, epoch_s, side="right") - 1
    return np.where((idx >= 0) & (idx < len(starts)), idx, -1)


def count_cube(event_loc: np.ndarray, event_step: np.ndarray, n_loc: int, n_steps: int):
    keep = (event_loc >= 0) & (event_step >= 0)
    flat = event_loc[keep] * n_steps + event_step[keep]
    return np.bincount(flat, minlength=n_loc * n_steps).reshape(n_loc, n_steps).astype(float)
