"""Risk / friction surfaces of a region from live layers: load (PostGIS) → build → save.

No SQL here (:mod:`geomon.store.surfaces` and :mod:`geomon.store.hotspot_inputs` read and
write). The grid is the region's box in its metric CRS (:func:`metric_crs_for_bbox`) at
``cell_size_m``; the DEM is a user GeoTIFF (which then defines the grid) or the deterministic
synthetic DEM, and the stored params say which. Layers from the database: incidents (Gaussian
density, or a stored KDE surface), border lines, official crossing points, patrol presence from
``positions`` in a time window, impassable zones. Every input — filters, counts, names and
ids — and every weight is recorded in the ``surfaces`` row and in the GeoTIFF's tags.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from affine import Affine

from geomon.analysis.surface_config import hotspot_on_grid
from geomon.errors import InvalidRequest, SpatialError
from geomon.spatial.crs import metric_crs_for_bbox, transform_xy
from geomon.spatial.raster_io import Grid, read_geotiff, write_geotiff
from geomon.spatial.surfaces import NODATA, UNITS, SurfaceWeights, build_surface, synthetic_dem
from geomon.store import hotspot_inputs as inputs
from geomon.store import surfaces as store

log = logging.getLogger(__name__)
WGS84 = "EPSG:4326"
MAX_CELLS = 20_000_000


@dataclass
class RegionSurfaceSpec:
    """What to build: the region, the grid, the DEM, the layer filters and the weights."""

    bbox: tuple[float, float, float, float] | None = None
    country: str | None = None
    border: str | None = None
    buffer_km: float | None = None
    cell_size_m: float = 1000.0
    dem_path: str | None = None
    dem_seed: int = 7
    relief_m: float = 2500.0
    weights: dict[str, float | bool] = field(default_factory=dict)
    incident_category: str | None = None
    incidents_since: datetime | None = None
    incidents_until: datetime | None = None
    hotspot_sigma_m: float = 5000.0
    hotspot_surface_id: int | None = None
    patrol_since: datetime | None = None
    patrol_until: datetime | None = None
    crossing_kinds: tuple[str, ...] = store.CROSSING_KINDS
    impassable_kinds: tuple[str, ...] = store.IMPASSABLE_KINDS
    name: str = ""
    max_cells: int = MAX_CELLS

    def validate(self) -> None:
        if sum(v is not None for v in (self.bbox, self.country, self.border)) != 1:
            raise InvalidRequest("give exactly one region: bbox, country or border")
        if not 10 <= self.cell_size_m <= 100_000:
            raise InvalidRequest("cell_size_m must be within 10..100000")
        if self.bbox is not None:
            w, s, e, n = self.bbox
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
                raise InvalidRequest("bbox must be W,S,E,N with W<E, S<N in degrees")
        SurfaceWeights(**self.weights)  # type: ignore[arg-type]  # SpatialError when bad

    def pinned(self, now: datetime | None = None) -> RegionSurfaceSpec:
        """Open windows closed at ``now`` (patrols default to the last 24 h)."""
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        p = RegionSurfaceSpec(
            **{
                **asdict(self),
                "crossing_kinds": tuple(self.crossing_kinds),
                "impassable_kinds": tuple(self.impassable_kinds),
            }
        )
        p.patrol_until = p.patrol_until or now
        p.patrol_since = p.patrol_since or p.patrol_until - timedelta(hours=24)
        p.incidents_until = p.incidents_until or now
        return p


@dataclass
class SurfaceOutcome:
    surface_id: int
    path: str
    crs: str
    shape: tuple[int, int]
    params: dict[str, Any]
    seconds: float


def region_grid(
    aoi: shapely.Geometry, cell_size_m: float, max_cells: int = MAX_CELLS
) -> tuple[str, Affine, tuple[int, int]]:
    """Metric CRS, north-up transform and shape covering the region's lon/lat box."""
    w, s, e, n = aoi.bounds
    crs = metric_crs_for_bbox(w, s, e, n).to_string()
    edge = shapely.get_coordinates(shapely.segmentize(shapely.box(w, s, e, n), 0.05))
    xs, ys = transform_xy(edge[:, 0], edge[:, 1], WGS84, crs)
    x0, y1 = float(xs.min()), float(ys.max())
    cols = math.ceil((float(xs.max()) - x0) / cell_size_m)
    rows = math.ceil((y1 - float(ys.min())) / cell_size_m)
    if rows * cols > max_cells:
        raise InvalidRequest(
            f"{rows}×{cols} cells is more than {max_cells:,}: raise the cell "
            "size or shrink the region"
        )
    return crs, Affine(cell_size_m, 0, x0, 0, -cell_size_m, y1), (rows, cols)


def _dem(spec: RegionSurfaceSpec, aoi: shapely.Geometry) -> tuple[Grid, dict[str, Any]]:
    if spec.dem_path:
        dem = read_geotiff(spec.dem_path)
        if not dem.crs:
            raise SpatialError("the DEM has no CRS")
        return dem, {"source": "file", "path": str(Path(spec.dem_path).resolve())}
    crs, tr, shape = region_grid(aoi, spec.cell_size_m, spec.max_cells)
    dem = synthetic_dem(shape, tr, crs, seed=spec.dem_seed, relief_m=spec.relief_m)
    return dem, {
        "source": "synthetic",
        "seed": spec.dem_seed,
        "relief_m": spec.relief_m,
        "note": "geomon.spatial.surfaces.synthetic_dem: not real terrain",
    }


def _project(lonlat: np.ndarray, crs: str) -> list[shapely.Geometry]:
    if not len(lonlat):
        return []
    x, y = transform_xy(lonlat[:, 0], lonlat[:, 1], WGS84, crs)
    return list(shapely.points(x, y))


def _to_grid(geoms: list[shapely.Geometry], crs: str) -> list[shapely.Geometry]:
    return [
        shapely.transform(
            shapely.segmentize(g, 0.05),
            lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], WGS84, crs)),
        )
        for g in geoms
    ]


def _density(points: list[shapely.Geometry], dem: Grid, sigma_m: float) -> np.ndarray | None:
    from geomon.spatial.surfaces import point_density

    return point_density(points, dem.array.shape, dem.transform, sigma_m)


def load_layers(
    conn: psycopg.Connection,
    spec: RegionSurfaceSpec,
    aoi: shapely.Geometry,
    dem: Grid,
    data_dir: Path,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The build_surface keyword layers (grid CRS) and the record of what was read."""
    kw: dict[str, Any] = {}
    rec: dict[str, Any] = {}
    codes, lines = store.border_lines(conn, aoi)
    kw["borders"] = _to_grid(lines, dem.crs)
    rec["borders"] = {"table": "borders", "codes": codes}
    crossings = store.crossing_points(conn, aoi, kinds=spec.crossing_kinds)
    pts = np.array([[c["lon"], c["lat"]] for c in crossings]).reshape(-1, 2)
    kw["crossings"] = _project(pts, dem.crs)
    rec["crossings"] = {
        "table": "places",
        "kinds": list(spec.crossing_kinds),
        "places": [{"id": c["id"], "name": c["name"]} for c in crossings],
    }
    zone_ids, polys = store.impassable_polygons(conn, aoi, kinds=spec.impassable_kinds)
    kw["impassable"] = _to_grid(polys, dem.crs)
    rec["impassable"] = {
        "table": "zones",
        "kinds": list(spec.impassable_kinds),
        "zone_ids": zone_ids,
    }
    fixes = store.patrol_presence(conn, aoi, spec.patrol_since, spec.patrol_until)  # type: ignore[arg-type]
    kw["patrols"] = _project(fixes, dem.crs)
    rec["patrols"] = {
        "table": "positions",
        "since": spec.patrol_since,
        "until": spec.patrol_until,
        "thinning": "one fix per device per minute",
        "n_fixes": len(fixes),
    }
    kw["hotspot"], rec["hotspot"] = _hotspot(conn, spec, aoi, dem, data_dir)
    return kw, rec


def _hotspot(
    conn: psycopg.Connection,
    spec: RegionSurfaceSpec,
    aoi: shapely.Geometry,
    dem: Grid,
    data_dir: Path,
) -> tuple[np.ndarray | None, dict[str, Any]]:
    if spec.hotspot_surface_id is not None:
        row = store.get_surface(conn, spec.hotspot_surface_id)
        path = Path(row["path"]) if Path(row["path"]).is_absolute() else data_dir / row["path"]
        return hotspot_on_grid(path, dem), {
            "surface_id": spec.hotspot_surface_id,
            "kind": row["kind"],
            "path": str(path),
        }
    pts = store.incident_points(
        conn,
        aoi,
        category=spec.incident_category,
        since=spec.incidents_since,
        until=spec.incidents_until,
    )
    dens = _density(_project(pts, dem.crs), dem, spec.hotspot_sigma_m)
    return dens, {
        "table": "incidents",
        "category": spec.incident_category,
        "since": spec.incidents_since,
        "until": spec.incidents_until,
        "n_points": len(pts),
        "method": "gaussian density of counts",
        "sigma_m": spec.hotspot_sigma_m,
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def raster_outline_wgs84(grid: Grid) -> shapely.Geometry:
    w, s, e, n = grid.bounds()
    box = shapely.segmentize(shapely.box(w, s, e, n), max(e - w, n - s) / 200)
    return shapely.transform(
        box, lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], grid.crs, WGS84))
    )


def build_region_surface(
    conn: psycopg.Connection,
    spec: RegionSurfaceSpec,
    *,
    data_dir: Path,
    agency_id: int | None = None,
    created_by: str = "",
) -> SurfaceOutcome:
    """Build, write (data_dir/surfaces/risk-<id>.tif) and record a surface; caller commits."""
    t0 = time.perf_counter()
    spec.validate()
    spec = spec.pinned()
    aoi = inputs.resolve_aoi(
        conn, bbox=spec.bbox, country=spec.country, border=spec.border, buffer_km=spec.buffer_km
    )
    assert aoi is not None
    dem, dem_rec = _dem(spec, aoi)
    kw, rec = load_layers(conn, spec, aoi, dem, data_dir)
    weights = SurfaceWeights(**spec.weights)  # type: ignore[arg-type]
    grid = build_surface(
        dem,
        weights,
        inputs={k: str(v) for k, v in _jsonable({**rec, "dem": dem_rec}).items()},
        **kw,
    )
    ok = grid.array[grid.array != NODATA]
    params = _jsonable(
        {
            "spec": asdict(spec),
            "region_wkt_bounds": list(aoi.bounds),
            "crs": grid.crs,
            "cell_size_m": grid.cell_size,
            "shape": list(grid.array.shape),
            "dem": dem_rec,
            "weights": asdict(weights),
            "inputs": rec,
            "units": UNITS,
            "layers_used": grid.tags.get("geomon_layers"),
            "formula": grid.tags["geomon_formula"],
            "vmin": float(ok.min()) if ok.size else 0.0,
            "vmax": float(ok.max()) if ok.size else 1.0,
            "impassable_cells": int((grid.array == NODATA).sum()),
        }
    )
    name = spec.name or f"risk surface {spec.bbox or spec.country or spec.border}"
    sid = store.insert_surface(
        conn,
        kind="cost",
        name=name,
        crs=grid.crs,
        units=UNITS,
        params=params,
        bounds_wgs84=raster_outline_wgs84(grid),
        agency_id=agency_id,
        created_by=created_by,
    )
    path = (Path(data_dir) / "surfaces" / f"risk-{sid}.tif").resolve()
    write_geotiff(
        path,
        Grid(
            grid.array,
            grid.transform,
            grid.crs,
            grid.nodata,
            {**grid.tags, "geomon_surface_id": str(sid)},
        ),
    )
    store.set_surface_path(conn, sid, str(path))
    secs = time.perf_counter() - t0
    log.info("surface %d: %s cells, %.2f s", sid, grid.array.shape, secs)
    return SurfaceOutcome(sid, str(path), grid.crs, grid.array.shape, params, secs)


def store_file_surface(
    conn: psycopg.Connection,
    grid: Grid,
    out: Path,
    *,
    name: str,
    agency_id: int | None,
    created_by: str,
    extra: dict[str, Any],
) -> int:
    """Record an already written surface GeoTIFF (``surfaces build --store``)."""
    ok = grid.array[grid.array != grid.nodata]
    params = {
        "tags": dict(grid.tags),
        **extra,
        "vmin": float(ok.min()) if ok.size else 0.0,
        "vmax": float(ok.max()) if ok.size else 1.0,
    }
    return store.insert_surface(
        conn,
        kind="cost",
        name=name,
        crs=grid.crs,
        units=UNITS,
        params=params,
        bounds_wgs84=raster_outline_wgs84(grid),
        agency_id=agency_id,
        created_by=created_by,
        path=str(out.resolve()),
    )
