"""Bulk point-in-zone and segment-through-zone tests over an STRtree of prepared polygons.

The tree gives bounding-box candidates for every point at once; the exact test then runs
vectorised over the candidate pairs against prepared geometries (shapely 2), so tagging
10,000 fixes against 10,000 zones is a few array operations, not 10,000 queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely import STRtree


@dataclass(frozen=True)
class Zone:
    """One geofence: database id, kind, polygon (EPSG:4326) and its own rule overrides."""

    id: int
    kind: str
    geom: Any
    name: str = ""
    rules: Mapping[str, Any] = field(default_factory=dict)


class ZoneIndex:
    """An immutable spatial index over zones; positions are given as lon/lat arrays."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = list(zones)
        self.geoms = np.array([z.geom for z in self.zones], dtype=object)
        self.ids = np.array([z.id for z in self.zones], dtype=np.int64)
        self.kinds = np.array([z.kind for z in self.zones], dtype=object)
        shapely.prepare(self.geoms)
        self.tree = STRtree(self.geoms)

    def __len__(self) -> int:
        return len(self.zones)

    def points_in_zones(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (point index, zone index) of every point inside (or on the edge of) a zone,
        sorted by point then zone."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if len(self.zones) == 0 or lon.size == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        boxes = shapely.points(lon, lat)
        pi, zi = self.tree.query(boxes)
        hit = shapely.intersects_xy(self.geoms[zi], lon[pi], lat[pi])
        return _sorted_pairs(pi[hit], zi[hit])

    def segments_through_zones(
        self, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (segment index, zone index) of segments that intersect a zone."""
        if len(self.zones) == 0 or len(x0) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        segs = segments(x0, y0, x1, y1)
        si, zi = self.tree.query(segs, predicate="intersects")
        return _sorted_pairs(si, zi)


def segments(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Vectorised two-point LineStrings."""
    coords = np.stack([np.stack([x0, y0], axis=-1), np.stack([x1, y1], axis=-1)], axis=1)
    return shapely.linestrings(coords)


def _sorted_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((b, a))
    return a[order].astype(np.int64), b[order].astype(np.int64)
