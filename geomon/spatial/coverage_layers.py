"""Glue between coverage results and the map: tracks into the surface's CRS, and the covered /
uncovered high-risk cells and next-patrol areas as GeoJSON (EPSG:4326)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from geomon.spatial.coverage import (
    HIGH_COVERED,
    HIGH_UNCOVERED,
    Coverage,
    PatrolArea,
    ranked_for_team,
)
from geomon.spatial.crs import transform_xy
from geomon.spatial.raster_io import Grid, polygonize

WGS84 = "EPSG:4326"


def project_tracks(
    tracks: Mapping[str, tuple[np.ndarray, ...]], crs: str, max_gap_s: float = 300.0
) -> dict[str, tuple[np.ndarray, ...]]:
    """(lon, lat, t_seconds) per team → (x, y, breaks) in ``crs``; a gap longer than
    ``max_gap_s`` is not drawn as driven."""
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for team, (lon, lat, t) in tracks.items():
        x, y = transform_xy(lon, lat, WGS84, crs)
        breaks = np.zeros(len(t), dtype=bool)
        breaks[1:] = np.diff(np.asarray(t, dtype=float)) > max_gap_s
        out[team] = (x, y, breaks)
    return out


def zone_masks(zones: Mapping[int, Any], grid: Grid) -> dict[int, np.ndarray]:
    """EPSG:4326 polygons → boolean masks on ``grid`` (all touched cells)."""
    from geomon.spatial.raster_io import rasterize_geometries

    def to_grid(g: Any) -> Any:
        return shapely.transform(
            g, lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], WGS84, grid.crs))
        )

    return {
        zid: rasterize_geometries([to_grid(g)], grid.array.shape, grid.transform)
        for zid, g in zones.items()
    }


def _to_wgs84(geom: Any, crs: str) -> Any:
    return shapely.transform(
        geom, lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], crs, WGS84))
    )


def coverage_geojson(cov: Coverage, grid: Grid) -> dict[str, Any]:
    """Polygons of covered and uncovered high-risk cells (property ``status``)."""
    feats = []
    for status, code in (("covered", HIGH_COVERED), ("uncovered", HIGH_UNCOVERED)):
        for poly in polygonize(cov.layer == code, grid.transform):
            feats.append(
                {
                    "type": "Feature",
                    "properties": {"status": status},
                    "geometry": mapping(_to_wgs84(poly, grid.crs)),
                }
            )
    return {"type": "FeatureCollection", "features": feats}


def patrol_geojson(areas: list[PatrolArea], labels: np.ndarray, grid: Grid) -> dict[str, Any]:
    """The ranked uncovered areas: polygon, rank, score, distance and priority per team."""
    feats = []
    best_team = {
        a.label: min(a.distance_m, key=lambda t, a=a: a.distance_m[t])  # type: ignore[misc]
        if a.distance_m
        else None
        for a in areas
    }
    for rank, a in enumerate(areas, start=1):
        polys = polygonize(labels == a.label, grid.transform)
        geom = shapely.union_all([_to_wgs84(p, grid.crs) for p in polys])
        feats.append(
            {
                "type": "Feature",
                "id": a.label,
                "geometry": mapping(geom),
                "properties": {
                    "rank": rank,
                    "cells": a.cells,
                    "area_km2": a.area_m2 / 1e6,
                    "risk_sum": a.risk_sum,
                    "score": a.score,
                    "nearest_team": best_team[a.label],
                    "distance_m": a.distance_m,
                    "priority": a.priority,
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def team_plans(areas: list[PatrolArea], teams: list[str], top: int = 5) -> dict[str, list[int]]:
    """Per team, the labels of its ``top`` areas in priority order."""
    return {t: [a.label for a in ranked_for_team(areas, t)[:top]] for t in teams}
