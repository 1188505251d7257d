"""Patrol loops that stay on their own side: a team round a dry port or an office keeps its
whole loop at least ``clearance_m`` from every border line (issue 20: the Khorog dry port team,
3.8 km from the Panj, drove a loop across the 1:10m line twice a lap and raised a critical
``border_cross`` every 54 minutes). Teams round a crossing point may cross: that is what its
crossing-point zone is for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from geomon.reference import NE_BORDER_ACCURACY_M, read_features

EARTH_M_PER_DEG = 111_320.0
CLEARANCE_M = NE_BORDER_ACCURACY_M + 500.0  # the border_cross tolerance and then some
CROSSING_KINDS = ("road_bcp", "rail_bcp")


def border_lines(reference: Path) -> list[Any]:
    """The border lines of ``reference``/borders_ne10m.geojson (none when it is missing)."""
    path = reference / "borders_ne10m.geojson"
    return [shape(f["geometry"]) for f in read_features(path)] if path.exists() else []


def keep_clear(
    loop: list[tuple[float, float]],
    centre: tuple[float, float],
    lines: Sequence[Any],
    clearance_m: float = CLEARANCE_M,
) -> list[tuple[float, float]]:
    """``loop`` (lat, lon waypoints round ``centre``) with the waypoints of every leg that
    comes within ``clearance_m`` of a line pulled toward the centre until none does. A site
    itself that close to a line (a terminal at a crossing) keeps its loop."""
    lat0, lon0 = centre
    kx = EARTH_M_PER_DEG * math.cos(math.radians(lat0))

    def local(g: Any) -> Any:
        return shapely.transform(g, lambda xy: (xy - (lon0, lat0)) * (kx, EARTH_M_PER_DEG))

    near = [local(g) for g in lines]
    near = [g for g in near if g.distance(shapely.Point(0, 0)) < 50_000]
    if not near:
        return loop
    border = shapely.union_all(near)
    if border.distance(shapely.Point(0, 0)) < clearance_m + 300:
        return loop
    pts = [((lon - lon0) * kx, (lat - lat0) * EARTH_M_PER_DEG) for lat, lon in loop]
    for _ in range(100):
        close = [
            k
            for k in range(len(pts))
            if shapely.LineString([pts[k], pts[(k + 1) % len(pts)]]).distance(border) < clearance_m
        ]
        if not close:
            break
        for k in {k for c in close for k in (c, (c + 1) % len(pts))}:
            pts[k] = (pts[k][0] * 0.9, pts[k][1] * 0.9)
    return [(lat0 + y / EARTH_M_PER_DEG, lon0 + x / kx) for x, y in pts]
