"""Hotspot runs on live data: load (PostGIS) → engine (geomon.spatial) → save (hotspot_runs).

No SQL here: :mod:`geomon.store.hotspot_inputs` reads the points and the area of interest,
:mod:`geomon.store.hotspots` writes the results. The metric CRS comes from the AOI (or from the
points when no AOI is given) via :func:`geomon.spatial.crs.metric_crs_for_bbox` and is recorded
with the run, as are the values chosen from the data (distance band, KDE radius) and the
effective time window, so ``rerun`` reproduces the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely

from geomon.analysis.hotspot_compute import Computed, compute
from geomon.analysis.hotspot_params import HotspotParams
from geomon.errors import GeomonError, SpatialError
from geomon.spatial.crs import metric_crs_for_bbox, transform_xy
from geomon.spatial.raster_io import write_geotiff
from geomon.store import hotspot_inputs as inputs
from geomon.store import hotspots as store
from geomon.store.db import connect

log = logging.getLogger(__name__)
WGS84 = "EPSG:4326"


@dataclass
class RunOutcome:
    """What a run did: its id, sizes, CRS, per-phase seconds and a short result summary."""

    run_id: int
    kind: str
    n_points: int
    n_cells: int
    crs: str
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    surface_path: str | None = None


def _timed(timings: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    timings[name] = time.perf_counter() - t0
    return out


def pinned(params: HotspotParams, now: datetime | None = None) -> HotspotParams:
    """The params with an open time window closed at ``now`` (so the run is reproducible)."""
    if params.filter.until is not None:
        return params
    until = (now or datetime.now(UTC)).replace(microsecond=0)
    return params.model_copy(update={"filter": params.filter.model_copy(update={"until": until})})


def to_metric(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    """A lon/lat geometry in ``crs`` (edges densified to 0.05° first, so they bend right)."""
    dense = shapely.segmentize(geom, 0.05)
    return shapely.transform(
        dense, lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], WGS84, crs))
    )


def to_wgs84(geoms: np.ndarray, crs: str) -> np.ndarray:
    return shapely.transform(
        np.asarray(geoms, dtype=object),
        lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], crs, WGS84)),
    )


def choose_crs(aoi: shapely.Geometry | None, pts: inputs.LoadedPoints) -> str:
    """The run's metric CRS: for the AOI's box, else for the points' box."""
    if aoi is not None:
        box = aoi.bounds
    elif len(pts):
        box = (
            float(pts.lon.min()),
            float(pts.lat.min()),
            float(pts.lon.max()),
            float(pts.lat.max()),
        )
    else:
        raise SpatialError("no points match the filter and no area of interest was given")
    return metric_crs_for_bbox(*box).to_string()


def _point_filter(p: HotspotParams) -> inputs.PointFilter:
    f = p.filter
    return inputs.PointFilter(
        layer=f.layer,
        category=f.category,
        agency=f.agency,
        since=f.since,
        until=f.until,
        sum_values=f.sum_values,
        with_time=p.kind == "ehsa",
        ordered=p.kind == "dbscan",
    )


def load(
    conn: psycopg.Connection, params: HotspotParams, timings: dict[str, float]
) -> tuple[inputs.LoadedPoints, shapely.Geometry | None]:
    f = params.filter
    aoi = _timed(
        timings,
        "aoi",
        lambda: inputs.resolve_aoi(
            conn,
            bbox=f.bbox,
            geojson=f.aoi,
            country=f.country,
            border=f.border,
            buffer_km=f.buffer_km,
        ),
    )
    pts = _timed(timings, "read", lambda: inputs.load_points(conn, _point_filter(params), aoi))
    return pts, aoi


def execute(
    conn: psycopg.Connection,
    run_id: int,
    params: HotspotParams,
    *,
    data_dir: Path,
    agency_id: int | None = None,
    created_by: str = "",
) -> RunOutcome:
    """Compute run ``run_id`` (its row exists) and store its results; the caller commits."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    params = pinned(params)
    pts, aoi = load(conn, params, timings)
    crs = choose_crs(aoi, pts)
    x, y = _timed(timings, "project", lambda: transform_xy(pts.lon, pts.lat, WGS84, crs))
    aoi_m = to_metric(aoi, crs) if aoi is not None else None
    out: Computed = _timed(timings, "compute", lambda: compute(params, x, y, pts, aoi_m, crs))
    surface = None
    if (raster := out.raster) is not None:
        surface = str((Path(data_dir) / "surfaces" / f"hotspots-kde-{run_id}.tif").resolve())
        _timed(timings, "write_geotiff", lambda: write_geotiff(surface, raster))
    try:
        n_cells = _save(conn, run_id, params, out, crs, surface, agency_id, created_by, timings)
        stored, filt = params.stored()
        timings["total"] = time.perf_counter() - t0
        stored["derived"] = {
            **out.derived,
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
        }
        store.finish_run(
            conn,
            run_id,
            params=stored,
            input_filter=filt,
            crs=crs,
            n_points=len(pts),
            n_cells=n_cells,
            duration_s=timings["total"],
            surface_path=surface,
        )
    except BaseException:
        if surface:
            Path(surface).unlink(missing_ok=True)
        raise
    log.info(
        "hotspot run %d (%s): %d points, %d cells, %.2f s",
        run_id,
        params.kind,
        len(pts),
        n_cells,
        timings["total"],
    )
    return RunOutcome(run_id, params.kind, len(pts), n_cells, crs, timings, out.summary, surface)


def _save(
    conn: psycopg.Connection,
    run_id: int,
    params: HotspotParams,
    out: Computed,
    crs: str,
    surface: str | None,
    agency_id: int | None,
    created_by: str,
    timings: dict[str, float],
) -> int:
    if out.raster is not None and surface is not None:
        bounds = to_wgs84(np.array([to_metric_box(out.raster)], dtype=object), crs)[0]
        store.save_surface(
            conn,
            kind="kde",
            name=f"hotspot run {run_id} (kde)",
            path=surface,
            crs=crs,
            units="points per km2",
            params=params.stored()[0],
            bounds_wgs84=bounds,
            agency_id=agency_id,
            created_by=created_by,
        )
        rows, cols = out.raster.array.shape
        return int(rows * cols)
    geoms = _timed(timings, "cells_to_wgs84", lambda: to_wgs84(out.geoms(), crs))
    return _timed(
        timings, "write", lambda: store.save_cells(conn, run_id, out.ids, geoms, out.columns)
    )


def to_metric_box(grid: Any) -> shapely.Geometry:
    """The raster's outline (densified so it stays right in lon/lat)."""
    t = grid.transform
    rows, cols = grid.array.shape
    box = shapely.box(t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)
    return shapely.segmentize(box, max(cols, rows) * t.a / 20)


def run(
    conn: psycopg.Connection,
    params: HotspotParams,
    *,
    data_dir: Path,
    created_by: str = "",
    agency_id: int | None = None,
) -> RunOutcome:
    """Create a run row, compute and store it (one transaction: the caller commits)."""
    stored, filt = params.stored()
    run_id = store.create_run(
        conn,
        kind=params.kind,
        params=stored,
        input_filter=filt,
        created_by=created_by,
        agency_id=agency_id,
    )
    return execute(
        conn, run_id, params, data_dir=data_dir, agency_id=agency_id, created_by=created_by
    )


def stored_params(conn: psycopg.Connection, run_id: int) -> tuple[HotspotParams, dict[str, Any]]:
    row = store.get_run(conn, run_id)
    return HotspotParams.from_stored(row["kind"], row["params"], row["input_filter"]), row


def rerun(
    conn: psycopg.Connection, run_id: int, *, data_dir: Path, created_by: str = ""
) -> RunOutcome:
    """A new run with the stored parameters and input window of run ``run_id``."""
    params, row = stored_params(conn, run_id)
    return run(
        conn,
        params,
        data_dir=data_dir,
        created_by=created_by or row["created_by"],
        agency_id=row["agency_id"],
    )


def delete(conn: psycopg.Connection, run_id: int) -> str | None:
    """Delete a run and commit; then remove its GeoTIFF. Returns the removed file, if any."""
    path = store.delete_run(conn, run_id)
    conn.commit()
    if path:
        Path(path).unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class Caller:
    """Whose row-level-security context a background run uses (the API caller)."""

    agency_id: int | None
    role: str
    user: str


def execute_queued(
    url: str, run_id: int, params: HotspotParams, *, caller: Caller, data_dir: Path
) -> None:
    """Compute a queued run (created by the API) in its own connection, under the caller's
    row-level security: status running → done, or failed with the error recorded."""

    def scoped(conn: psycopg.Connection) -> None:
        store.set_caller_context(
            conn, agency_id=caller.agency_id, role=caller.role, user=caller.user
        )

    with connect(url) as conn:
        scoped(conn)
        store.set_status(conn, run_id, "running")
        conn.commit()
        try:
            scoped(conn)
            execute(
                conn,
                run_id,
                params,
                data_dir=data_dir,
                agency_id=caller.agency_id,
                created_by=caller.user,
            )
            conn.commit()
        except Exception as exc:  # recorded on the run: the API has already answered
            log.warning("hotspot run %d failed: %s", run_id, exc)
            conn.rollback()
            scoped(conn)
            store.fail_run(
                conn,
                run_id,
                str(exc)
                if isinstance(exc, GeomonError)
                else f"internal error ({type(exc).__name__})",
            )
            conn.commit()
