"""Border crossings with a tolerance for the line's accuracy and GPS error (docs/events.md).

A fix is *deep* on a side of a border (countries a, b) when it lies in that country's polygon
at least ``depth_m`` from the border line; within ``depth_m`` of the line it is on neither side.
A crossing is the fix where a track becomes deep on the far side — the neighbour of the
device's home country (its agency's state), or, for a device without one, either side — while
the fix before was not. So fixes that stay within the tolerance band never raise one, nor does
the straight chord between two sparse fixes that cuts a bend of the line; a track that goes
past the depth raises it at the first fix that is past. Only fixes are classified, never the
segments between them, so every event still depends on two consecutive fixes alone (late data
recomputes it exactly, docs/events.md). A pair whose segment touches a crossing-point zone is
an expected crossing.

Distances are measured in spherical Mercator, scaled by the cosine of the fix's latitude:
conformal, so within a few kilometres of a fix it is the ground distance to well under 1 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from geomon.alerts.track import Track
from geomon.alerts.zoneindex import segments

EARTH_RADIUS_M = 6_378_137.0
_M_PER_DEG = 111_320.0
_MIN_COS = 0.5  # candidates: segments within depth in degrees at up to 60° N
PIECE_VERTICES = 32


def mercator(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Spherical Mercator metres (EPSG:3857 formulas) of lon/lat arrays, as (n, 2)."""
    x = np.radians(lon) * EARTH_RADIUS_M
    y = np.log(np.tan(np.pi / 4 + np.radians(np.clip(lat, -85, 85)) / 2)) * EARTH_RADIUS_M
    return np.stack([x, y], axis=-1)


@dataclass(frozen=True)
class BorderLine:
    """One border: code (``A-B``, ISO3 pair sorted), its countries, the line, the two
    countries' polygons (the sides; None when not loaded) and the line's stated accuracy."""

    code: str
    a: str
    b: str
    line: Any
    side_a: Any = None
    side_b: Any = None
    accuracy_m: float | None = None


class BorderLines:
    """The immutable, shared part: lines (also in Mercator), prepared side polygons, a tree."""

    def __init__(self, borders: Sequence[BorderLine]) -> None:
        self.borders = list(borders)
        self.codes = [b.code for b in self.borders]
        self.lines = np.array([b.line for b in self.borders], dtype=object)
        # The tree holds pieces of PIECE_VERTICES vertices, not whole lines: a whole border's
        # box covers most fixes near any border, and "within" then measured every segment to
        # thousands of vertices (0.96 of 1.27 s for 93,000 fixes round every patrol site).
        pieces, owner = [], []
        for j, b in enumerate(self.borders):
            for part in getattr(b.line, "geoms", [b.line]):
                xy = shapely.get_coordinates(part)
                for s in range(0, len(xy) - 1, PIECE_VERTICES):
                    pieces.append(shapely.linestrings(xy[s : s + PIECE_VERTICES + 1]))
                    owner.append(j)
        self.owner = np.array(owner, dtype=np.int64)
        self.tree = shapely.STRtree(np.array(pieces, dtype=object))
        self.lines_m = np.array(
            [shapely.transform(b.line, lambda xy: mercator(xy[:, 0], xy[:, 1])) for b in borders],
            dtype=object,
        )
        sides = [g for b in self.borders for g in (b.side_a, b.side_b) if g is not None]
        if sides:
            shapely.prepare(np.array(sides, dtype=object))

    def __len__(self) -> int:
        return len(self.borders)

    def default_depth_m(self, code: str, margin_m: float) -> float:
        """The line's stated accuracy (0 when unknown) plus the GPS margin."""
        acc = self.borders[self.codes.index(code)].accuracy_m
        return float(acc or 0.0) + margin_m


@dataclass(frozen=True)
class BorderCrossings:
    """Fix index (the first fix past the depth), border index, and where that fix is."""

    point: np.ndarray
    border: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    depth_m: np.ndarray


class BorderIndex:
    """Border lines seen from one agency: its home country and the crossing-point zones
    where crossing is expected."""

    def __init__(
        self,
        lines: BorderLines | Sequence[BorderLine],
        crossing_points: Sequence[Any] = (),
        home: str | None = None,
    ) -> None:
        self.lines = lines if isinstance(lines, BorderLines) else BorderLines(lines)
        self.codes = self.lines.codes
        self.home = home
        self.allowed = (
            shapely.union_all(np.array(list(crossing_points), dtype=object))
            if len(crossing_points)
            else None
        )
        if self.allowed is not None:
            shapely.prepare(self.allowed)

    def relevant(self, j: int) -> bool:
        """A device with a home country answers only for its own borders."""
        b = self.lines.borders[j]
        return self.home is None or self.home in (b.a, b.b)

    def crossings(self, track: Track, depth_m: Sequence[float]) -> BorderCrossings:
        """Fixes of ``track`` that are the first past ``depth_m[j]`` on the far side of border
        ``j``, away from every crossing-point zone, sorted by fix then border."""
        ends = np.flatnonzero(track.has_prev & track.emit)
        found: list[tuple[np.ndarray, int, np.ndarray]] = []
        if len(ends) and len(self.codes):
            segs = segments(
                track.lon[ends - 1], track.lat[ends - 1], track.lon[ends], track.lat[ends]
            )
            reach = max(depth_m) / (_M_PER_DEG * _MIN_COS) if len(depth_m) else 0.0
            si, pj = self.lines.tree.query(segs, predicate="dwithin", distance=reach)
            pairs = np.unique(np.stack([si, self.lines.owner[pj]], axis=1), axis=0)
            si, bj = pairs[:, 0], pairs[:, 1]
            for j in np.unique(bj):
                if self.relevant(int(j)):
                    cand = si[bj == j]
                    hit, deep = self._onsets(track, ends[cand], int(j), float(depth_m[j]))
                    if self.allowed is not None and len(hit):
                        ok = ~shapely.intersects(segs[cand[hit]], self.allowed)
                        hit, deep = hit[ok], deep[ok]
                    found.append((ends[cand[hit]], int(j), deep))
        return _sorted(track, found)

    def _onsets(
        self, track: Track, later: np.ndarray, j: int, depth: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Of the pairs (later - 1, later): those whose later fix is past ``depth`` on a far
        side and whose earlier fix is not, with the later fix's distance to the line."""
        side_now, dist_now = self._sides(track, later, j, depth)
        side_before, _ = self._sides(track, later - 1, j, depth)
        b = self.lines.borders[j]
        far_side = 2 if self.home == b.a else 1
        far = side_now != 0 if self.home is None else side_now == far_side
        hit = np.flatnonzero(far & (side_before != side_now))
        return hit, dist_now[hit]

    def _sides(
        self, track: Track, idx: np.ndarray, j: int, depth: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per fix: 1 = deep in country a, 2 = deep in country b, 0 = neither; and metres."""
        b = self.lines.borders[j]
        lon, lat = track.lon[idx], track.lat[idx]
        xy = mercator(lon, lat)
        dist = shapely.distance(shapely.points(xy), self.lines.lines_m[j]) * np.cos(np.radians(lat))
        in_a = _inside(b.side_a, b.side_b, lon, lat)
        in_b = _inside(b.side_b, b.side_a, lon, lat)
        deep = dist >= depth
        side = np.where(deep & in_a, 1, np.where(deep & in_b, 2, 0))
        return side, dist


def _inside(side: Any, other: Any, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """In ``side``; with only the other country's polygon loaded: not in that one."""
    if side is not None:
        return np.asarray(shapely.intersects_xy(side, lon, lat))
    if other is not None:
        return ~np.asarray(shapely.intersects_xy(other, lon, lat))
    return np.zeros(len(lon), dtype=bool)


def _sorted(track: Track, found: list[tuple[np.ndarray, int, np.ndarray]]) -> BorderCrossings:
    if not found:
        e = np.empty(0)
        return BorderCrossings(e.astype(np.int64), e.astype(np.int64), e, e, e)
    point = np.concatenate([p for p, _, _ in found]).astype(np.int64)
    border = np.concatenate([np.full(len(p), j) for p, j, _ in found]).astype(np.int64)
    depth = np.concatenate([d for _, _, d in found])
    order = np.lexsort((border, point))
    point, border, depth = point[order], border[order], depth[order]
    return BorderCrossings(point, border, track.lon[point], track.lat[point], depth)
