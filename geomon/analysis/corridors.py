"""Corridors and route risk on stored surfaces: resolve endpoints (PostGIS) → engine → store.

No SQL here. Endpoints are a border (every cell the border line crosses inside the surface is
a source: routes may start anywhere along it), named places, or lon/lat points. Corridors come
from :mod:`geomon.spatial.corridors` (K alternatives that avoid the earlier ones by a margin,
or every pair of two sets) and are stored as ``corridors`` rows: the corridor cells as a
MultiPolygon and the least-cost path as a LineString, both transformed to EPSG:4326 from the
surface's CRS, with the request, the rule, the threshold and the analysis CRS in ``params``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely

from geomon.errors import InvalidRequest, NotFound, SpatialError
from geomon.spatial import corridors as cor
from geomon.spatial.costdist import cells_along_line, cells_for_points
from geomon.spatial.crs import transform_xy
from geomon.spatial.raster_io import Grid, read_geotiff
from geomon.spatial.route_risk import route_risk
from geomon.store import surfaces as store

log = logging.getLogger(__name__)
WGS84 = "EPSG:4326"


@dataclass
class Endpoint:
    """One side of a corridor: exactly one of a border code (the whole line), the official
    crossing points of a border (one place each), place names or lon/lat points."""

    border: str | None = None
    places: list[str] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    crossings_of: str | None = None

    def check(self, side: str) -> None:
        given = (self.border, self.places, self.points, self.crossings_of)
        if sum(bool(v) for v in given) != 1:
            raise InvalidRequest(
                f"{side}: give exactly one of border, places, points or crossings_of"
            )


@dataclass
class CorridorRequest:
    """A corridor job on a stored surface (see module docstring)."""

    surface_id: int
    source: Endpoint
    target: Endpoint
    alternatives: int = 3
    margin_m: float | None = None
    percentile: float | None = None
    within_pct: float | None = None
    pairs: bool = False

    def check(self) -> None:
        self.source.check("from")
        self.target.check("to")
        if (self.percentile is None) == (self.within_pct is None):
            raise InvalidRequest("give exactly one cut rule: percentile or within_pct")
        if not 1 <= self.alternatives <= 10:
            raise InvalidRequest("alternatives must be within 1..10")
        if self.pairs and (self.source.border or self.target.border):
            raise InvalidRequest("pairs needs places or points on both sides")


def surface_file(row: dict[str, Any], data_dir: Path) -> Path:
    p = Path(str(row["path"]))
    return p if p.is_absolute() else Path(data_dir) / p


def load_surface(
    conn: psycopg.Connection, surface_id: int, data_dir: Path
) -> tuple[dict[str, Any], Grid]:
    """A stored surface's row and raster (NotFound when the row or file is missing)."""
    row = store.get_surface(conn, surface_id)
    path = surface_file(row, data_dir)
    if not path.is_file():
        raise NotFound(f"surface {surface_id}'s file is missing: {path}")
    return row, read_geotiff(path)


def to_grid_crs(geom: shapely.Geometry, grid: Grid) -> shapely.Geometry:
    return shapely.transform(
        shapely.segmentize(geom, 0.01),
        lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], WGS84, grid.crs)),
    )


def to_wgs84(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    return shapely.transform(
        geom, lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], crs, WGS84))
    )


def _point_cells(lonlat: list[tuple[float, float]], grid: Grid) -> np.ndarray:
    arr = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    x, y = transform_xy(arr[:, 0], arr[:, 1], WGS84, grid.crs)
    try:
        return cells_for_points(list(zip(x, y, strict=True)), grid.transform, grid.array.shape)
    except SpatialError as exc:
        raise InvalidRequest(f"an endpoint lies outside the surface: {exc}") from None


def resolve_endpoint(
    conn: psycopg.Connection, ep: Endpoint, grid: Grid
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Cells of each place of the endpoint (one entry for a border) and what they were."""
    if ep.border:
        line = to_grid_crs(store.border_line(conn, ep.border), grid)
        try:
            cells = cells_along_line(line, grid.transform, grid.array.shape)
        except SpatialError as exc:
            raise InvalidRequest(f"border {ep.border}: {exc}") from None
        return [cells], [{"border": ep.border.upper(), "n_cells": len(cells)}]
    if ep.places or ep.crossings_of:
        found = (
            [store.place(conn, name) for name in ep.places]
            if ep.places
            else store.border_crossings(conn, str(ep.crossings_of))
        )
        if not found:
            raise InvalidRequest(f"border {ep.crossings_of} has no official crossing points")
        cells = _point_cells([(p["lon"], p["lat"]) for p in found], grid)
        return [c.reshape(1, 2) for c in cells], [
            {"place": p["name"], "place_id": p["id"], "lon": p["lon"], "lat": p["lat"]}
            for p in found
        ]
    cells = _point_cells(ep.points, grid)
    return [c.reshape(1, 2) for c in cells], [{"lon": x, "lat": y} for x, y in ep.points]


def _save(
    conn: psycopg.Connection,
    c: cor.Corridor,
    grid: Grid,
    *,
    surface_id: int,
    rank: int,
    params: dict[str, Any],
    agency_id: int | None,
    created_by: str,
) -> dict[str, Any]:
    polys = cor.corridor_polygons(c.mask, grid.transform)
    geom = to_wgs84(shapely.union_all(polys), grid.crs)
    path = to_wgs84(c.path.line, grid.crs) if c.path and c.path.line is not None else None
    summary = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in c.summary().items()
    }
    cid = store.insert_corridor(
        conn,
        surface_id=surface_id,
        rank=rank,
        params={**params, **summary},
        threshold=c.threshold,
        n_cells=c.n_cells,
        total_cost=c.path.total_cost if c.path else c.min_cost,
        geom_wgs84=geom,
        path_wgs84=path,
        agency_id=agency_id,
        created_by=created_by,
    )
    return {"id": cid, "rank": rank, **summary}


def build_corridors(
    conn: psycopg.Connection,
    req: CorridorRequest,
    *,
    data_dir: Path,
    agency_id: int | None = None,
    created_by: str = "",
) -> list[dict[str, Any]]:
    """Compute and store the corridors of ``req``; returns one summary per stored row."""
    req.check()
    row, grid = load_surface(conn, req.surface_id, data_dir)
    a_cells, a_info = resolve_endpoint(conn, req.source, grid)
    b_cells, b_info = resolve_endpoint(conn, req.target, grid)
    sampling = (abs(grid.transform.e), abs(grid.transform.a))
    margin = req.margin_m if req.margin_m is not None else 5 * grid.cell_size
    kw: dict[str, Any] = {
        "sampling": sampling,
        "nodata": grid.nodata,
        "percentile": req.percentile,
        "within_pct": req.within_pct,
        "transform": grid.transform,
    }
    base = {
        "request": asdict(req),
        "margin_m": margin,
        "analysis_crs": grid.crs,
        "surface_kind": row["kind"],
        "cell_size_m": grid.cell_size,
        "endpoint_radius_m": 3 * margin,
    }
    out = []
    if req.pairs:
        for p in cor.corridors_between(grid.array, a_cells, b_cells, **kw):
            params = {**base, "from": a_info[p.i], "to": b_info[p.j], "pair": [p.i, p.j]}
            out.append(
                _save(
                    conn,
                    p.corridor,
                    grid,
                    surface_id=req.surface_id,
                    rank=1,
                    params=params,
                    agency_id=agency_id,
                    created_by=created_by,
                )
            )
    else:
        a, b = np.vstack(a_cells), np.vstack(b_cells)
        alts = cor.alternative_corridors(
            grid.array, a, b, k=req.alternatives, margin_m=margin, **kw
        )
        for rank, c in enumerate(alts, start=1):
            params = {**base, "from": a_info, "to": b_info}
            out.append(
                _save(
                    conn,
                    c,
                    grid,
                    surface_id=req.surface_id,
                    rank=rank,
                    params=params,
                    agency_id=agency_id,
                    created_by=created_by,
                )
            )
    if not out:
        raise InvalidRequest("no corridor: the endpoints are not connected on this surface")
    log.info("surface %d: stored %d corridors", req.surface_id, len(out))
    return out


# --------------------------------------------------------------------------- route risk


def score_line(
    grid: Grid, line_lonlat: shapely.Geometry, threshold: float | None = None
) -> dict[str, Any]:
    """Route risk of a lon/lat (Multi)LineString; segments above ``threshold`` in lon/lat."""
    coords = shapely.get_coordinates(line_lonlat)
    if not (np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90)):
        raise InvalidRequest("route coordinates must be lon within ±180, lat within ±90")
    if line_lonlat.length == 0:
        raise InvalidRequest("the route has no length: give at least two distinct points")
    line = to_grid_crs(line_lonlat, grid)
    if not np.all(np.isfinite(shapely.get_coordinates(line))):
        raise InvalidRequest(f"the route cannot be drawn in the surface's CRS {grid.crs}")
    result = route_risk(grid, line, threshold=threshold)
    segments = [
        {
            **s,
            "geometry": shapely.geometry.mapping(
                to_wgs84(shapely.geometry.shape(s["geometry"]), grid.crs)
            ),
        }
        for s in result.segments
    ]
    summary = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in result.summary().items()
    }
    return {
        **summary,
        "analysis_crs": grid.crs,
        "segments": {"type": "FeatureCollection", "features": segments},
    }


def device_route_risk(
    conn: psycopg.Connection,
    grid: Grid,
    device: str,
    since: datetime,
    until: datetime,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Route risk of a device's track (valid fixes in [since, until), by fix_time)."""
    if since >= until:
        raise InvalidRequest("since must be before until")
    track = store.device_track(conn, device, since, until)
    if track["line"] is None:
        raise InvalidRequest(
            f"device {device} has {track['n_fixes']} fix(es) in the window; "
            "a route needs at least two"
        )
    out = score_line(grid, track["line"], threshold)
    return {
        "device": track["uid"],
        "device_id": track["device_id"],
        "n_fixes": track["n_fixes"],
        "first_fix": track["first_fix"],
        "last_fix": track["last_fix"],
        **out,
    }
