"""Zone enter / exit / cross and border crossings from consecutive fixes, vectorised.

For fix *i* with predecessor *i-1* of the same device: entered = Z(i) − Z(i-1), exited =
Z(i-1) − Z(i) (set differences of containing zones, done on int64 pair keys), and crossed =
zones the straight segment (i-1 → i) intersects that contain neither end — a sparse track
jumping over a zone. A segment that intersects a border line at a point outside every
crossing-point zone is a border crossing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geomon.alerts.track import Track
from geomon.alerts.zoneindex import ZoneIndex, segments

ENTER, EXIT, CROSS = 0, 1, 2
TRANSITION_NAMES = ("enter", "exit", "cross")


@dataclass(frozen=True)
class Transitions:
    """Parallel arrays: transition code, fix index (the later fix of the pair), zone index."""

    code: np.ndarray
    point: np.ndarray
    zone: np.ndarray

    def __len__(self) -> int:
        return len(self.code)


def zone_transitions(track: Track, index: ZoneIndex, *, crossings: bool = True) -> Transitions:
    """Every enter/exit/cross of ``track`` against ``index`` (only at fixes with ``emit``)."""
    n, nz = len(track), max(len(index), 1)
    pi, zi = index.points_in_zones(track.lon, track.lat)
    cur = pi * nz + zi
    has_prev = track.has_prev
    emit = has_prev & track.emit
    # Membership of the predecessor, re-keyed onto the later fix of the pair.
    shifted_ok = (pi + 1 < n) & emit[np.minimum(pi + 1, n - 1)]
    prev_on_next = (pi[shifted_ok] + 1) * nz + zi[shifted_ok]
    cur_emit = cur[emit[pi]] if len(pi) else cur
    entered = np.setdiff1d(cur_emit, prev_on_next, assume_unique=True)
    exited = np.setdiff1d(prev_on_next, cur_emit, assume_unique=True)
    keys = [entered, exited]
    codes = [np.full(len(entered), ENTER), np.full(len(exited), EXIT)]
    if crossings:
        crossed = _crossed(track, index, emit, cur, prev_on_next, nz)
        keys.append(crossed)
        codes.append(np.full(len(crossed), CROSS))
    allk = np.concatenate(keys)
    code = np.concatenate(codes)
    order = np.lexsort((code, allk % nz, allk // nz))
    return Transitions(code[order], (allk // nz)[order], (allk % nz)[order])


def _crossed(
    track: Track,
    index: ZoneIndex,
    emit: np.ndarray,
    cur: np.ndarray,
    prev_on_next: np.ndarray,
    nz: int,
) -> np.ndarray:
    ends = np.flatnonzero(emit)
    if len(ends) == 0:
        return np.empty(0, np.int64)
    si, zi = index.segments_through_zones(
        track.lon[ends - 1], track.lat[ends - 1], track.lon[ends], track.lat[ends]
    )
    keys = ends[si] * nz + zi
    return np.setdiff1d(np.setdiff1d(keys, cur), prev_on_next)


@dataclass(frozen=True)
class BorderCrossings:
    """Fix index (later fix of the pair), border index, and the crossing point lon/lat."""

    point: np.ndarray
    border: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


class BorderIndex:
    """Border lines and the crossing-point zones where crossing them is expected."""

    def __init__(
        self, codes: list[str], lines: list[object], crossing_points: list[object]
    ) -> None:
        self.codes = list(codes)
        self.lines = np.array(lines, dtype=object)
        self.tree = shapely.STRtree(self.lines)
        self.allowed = (
            shapely.union_all(np.array(crossing_points, dtype=object)) if crossing_points else None
        )
        if self.allowed is not None:
            shapely.prepare(self.allowed)

    def crossings_outside(self, track: Track) -> BorderCrossings:
        """Segments of ``track`` crossing a border line away from every crossing-point zone."""
        ends = np.flatnonzero(track.has_prev & track.emit)
        empty = np.empty(0)
        if len(ends) == 0 or len(self.codes) == 0:
            return BorderCrossings(empty.astype(np.int64), empty.astype(np.int64), empty, empty)
        segs = segments(track.lon[ends - 1], track.lat[ends - 1], track.lon[ends], track.lat[ends])
        si, bi = self.tree.query(segs, predicate="intersects")
        where = shapely.intersection(segs[si], self.lines[bi])
        if self.allowed is not None:
            outside = ~shapely.covered_by(where, self.allowed)
            si, bi, where = si[outside], bi[outside], where[outside]
        at = shapely.point_on_surface(where)
        order = np.lexsort((bi, si))
        return BorderCrossings(
            ends[si][order], bi[order], shapely.get_x(at)[order], shapely.get_y(at)[order]
        )
