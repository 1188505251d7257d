"""Seasonal forecast runs on the database: incidents → (locations × steps) cube → engine → store.

The incidents are read under the caller's row-level security (an agency forecasts only what it
may see), filtered by category and optionally by one agency, binned into calendar months or
ISO weeks of the window, and counted per location (geomon.spatial.forecast_units: grid cells,
border sectors, crossing points or zones, in a metric CRS chosen for the area). The engine is
geomon.spatial.forecast; every run stores its parameters with the window pinned, so ``rerun``
reproduces it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import psycopg
import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geomon.errors import GeomonError, InvalidRequest
from geomon.rfc3339 import Rfc3339Time
from geomon.spatial import forecast_units as fu
from geomon.spatial.crs import metric_crs_for_bbox, transform_xy
from geomon.spatial.forecast import ForecastParams, ForecastResult, forecast_cube, season_length
from geomon.store import forecasts as store
from geomon.store import hotspot_inputs as inputs
from geomon.store.db import connect
from geomon.store.hotspots import set_caller_context

log = logging.getLogger(__name__)
BCP_KINDS = ("road_bcp", "rail_bcp")
# a run's worker computes in one thread: 10,000 locations x 120 months take about a minute
# (bench/forecast.py); far more is a cell size typed wrong, not a plan
MAX_LOCATIONS = 20_000


class ForecastRunParams(BaseModel):
    """What a forecast run reads and how it forecasts (CLI, API and ``rerun`` share it)."""

    model_config = ConfigDict(extra="forbid")

    units: Literal["grid", "border_sectors", "crossing_points", "zones"] = Field(
        default="border_sectors", description="Locations of the cube."
    )
    border: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{3}-[A-Za-z]{3}$", description="Border code, AFG-TJK."
    )
    sector_km: float = Field(default=25.0, gt=0, le=1000, description="Border sector length.")
    buffer_km: float = Field(
        default=10.0, gt=0, le=200, description="Incidents this close to a sector/point count."
    )
    cell_km: float = Field(default=10.0, gt=0, le=500, description="Grid cell size.")
    country: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{3}$", description="Crossing points of this country."
    )
    zone_kind: str | None = Field(default=None, max_length=64, description="zones.kind filter.")
    layer: Literal["incidents", "cases"] = Field(
        default="incidents", description="What is counted: incidents, or seizure cases."
    )
    category: str | None = Field(
        default=None, max_length=100, description="incidents.category or cases.category"
    )
    substance: str | None = Field(
        default=None, max_length=64, description="cases.substance (heroin, opium…); cases only."
    )
    agency: str | None = Field(default=None, max_length=64, description="Only this agency's.")
    step: Literal["month", "week"] = "month"
    since: Rfc3339Time | None = Field(
        default=None, description="Window start (inclusive, UTC): the first of a month, or a "
        "Monday for weeks; default ten years (weeks: three) before until."
    )  # fmt: skip
    until: Rfc3339Time | None = Field(
        default=None, description="Window end (exclusive, UTC); default the start of the "
        "current month (or week)."
    )  # fmt: skip
    horizon: int = Field(default=12, ge=1, le=24, description="Steps to forecast.")
    backtest_steps: int | None = Field(
        default=None, ge=4, le=260, description="Steps held back (default one season x 2, "
        "weekly one season)."
    )  # fmt: skip
    outlier_k: float = Field(default=3.0, gt=0, le=20)
    level: float = Field(default=0.9, ge=0.5, lt=1)

    @model_validator(mode="after")
    def _units_need(self) -> ForecastRunParams:
        if self.units == "border_sectors" and not self.border:
            raise ValueError("border sectors need a border code (e.g. AFG-TJK)")
        if self.substance is not None and self.layer != "cases":
            raise ValueError("a substance filter needs layer 'cases' (incidents have none)")
        for t in (self.since, self.until):
            if t is not None and t.tzinfo is None:
                raise ValueError("since/until need a time zone (UTC)")
            if t is not None and not fu.MIN_YEAR <= t.year <= fu.MAX_YEAR:
                raise ValueError(f"since/until must lie in the years {fu.MIN_YEAR}-{fu.MAX_YEAR}")
        return self

    def pinned(self, now: datetime | None = None) -> ForecastRunParams:
        """The window made explicit (defaults: the ten years, or three for weeks, that end at
        the start of the current month or week)."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        until = self.until
        if until is None:
            day = now.replace(hour=0, minute=0, second=0, microsecond=0)
            until = day.replace(day=1) if self.step == "month" else day - timedelta(day.weekday())
        since = self.since
        if since is None:
            if self.step == "month":
                since = until.replace(year=until.year - 10)
            else:
                since = until - timedelta(weeks=156)
        return self.model_copy(update={"since": since, "until": until})

    def engine_params(self, n_steps: int) -> ForecastParams:
        m = season_length(self.step)
        assert self.since is not None
        bt = self.backtest_steps or (24 if self.step == "month" else 52)
        p = ForecastParams(
            season=m,
            horizon=self.horizon,
            backtest_steps=bt,
            first_season_pos=fu.first_season_pos(self.since, self.step),
            level=self.level,
            outlier_k=self.outlier_k,
        )
        p.check(n_steps)
        return p

    def check(self) -> list[datetime]:
        """Refuse a window of partial steps or too few steps before anything is queued."""
        assert self.since is not None and self.until is not None
        starts = fu.step_starts(self.since, self.until, self.step)
        self.engine_params(len(starts))
        return starts

    def stored(self) -> tuple[dict[str, Any], dict[str, Any]]:
        doc = self.model_dump(mode="json")
        keys = (
            "units", "border", "country", "zone_kind", "layer", "category", "substance",
            "agency", "since", "until",
        )  # fmt: skip
        return doc, {k: doc[k] for k in keys}


@dataclass
class Outcome:
    run_id: int
    n_locations: int
    n_steps: int
    n_events: int
    duration_s: float


def _clean(a: np.ndarray, nd: int = 4) -> list[Any]:
    return [None if not np.isfinite(v) else round(float(v), nd) for v in np.asarray(a, float)]


def _build_units(conn: psycopg.Connection, p: ForecastRunParams, lon, lat):
    """Units in a metric CRS; returns (units, crs)."""
    if p.units == "border_sectors":
        assert p.border is not None
        lines = store.border_lines(conn, p.border)
        b = shapely.union_all([g for _, g in lines]).bounds
    elif p.units == "crossing_points":
        pts = store.crossing_points(conn, p.country, BCP_KINDS)
        if not pts:
            raise InvalidRequest("no crossing points in the reference data (load-reference?)")
        xs, ys = np.array([q[1] for q in pts]), np.array([q[2] for q in pts])
        b = (xs.min(), ys.min(), xs.max(), ys.max())
    elif p.units == "zones":
        zones = store.zone_polygons(conn, p.zone_kind)
        if not zones:
            raise InvalidRequest("no polygon zones to forecast on (zone_kind?)")
        b = shapely.union_all([g for _, g in zones]).bounds
    else:
        if len(lon) == 0:
            raise InvalidRequest("the window holds no incidents: nothing to grid")
        b = (lon.min(), lat.min(), lon.max(), lat.max())
    crs = metric_crs_for_bbox(*b).to_wkt()
    x, y = transform_xy(lon, lat, "EPSG:4326", crs)

    def metric(g: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(
            g, lambda c: np.column_stack(transform_xy(c[:, 0], c[:, 1], "EPSG:4326", crs))
        )

    if p.units == "border_sectors":
        units = fu.sector_units(
            [(c, metric(g)) for c, g in lines], x, y, p.sector_km * 1000, p.buffer_km * 1000
        )
    elif p.units == "crossing_points":
        px, py = transform_xy(xs, ys, "EPSG:4326", crs)
        units = fu.point_units([q[0] for q in pts], px, py, x, y, p.buffer_km * 1000)
    elif p.units == "zones":
        polys = np.asarray([metric(g) for _, g in zones], dtype=object)
        units = fu.zone_units([n for n, _ in zones], polys, x, y)
    else:
        units = fu.grid_units(x, y, p.cell_km * 1000)
    return units, crs


def _to_wgs84(geoms: np.ndarray, crs: str) -> list[shapely.Geometry]:
    def back(c: np.ndarray) -> np.ndarray:
        return np.column_stack(transform_xy(c[:, 0], c[:, 1], crs, "EPSG:4326"))

    return [shapely.transform(g, back) for g in geoms]


def cell_rows(r: ForecastResult, y: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for i in range(len(y)):
        series = {
            "history": _clean(y[i], 2),
            "fitted": _clean(r.fitted[i]),
            "forecast": _clean(r.forecast[i]),
            "lower": _clean(r.lower[i]),
            "upper": _clean(r.upper[i]),
            "naive": _clean(r.naive[i]),
            "outliers": np.flatnonzero(r.outliers[i]).tolist(),
            "profile_mean": _clean(r.profile_mean[i]),
            "profile_se": _clean(r.profile_se[i]),
        }
        rows.append(
            {
                "loc_id": i,
                "name": names[i],
                "status": str(r.status[i]),
                "model": str(r.model[i]),
                "trusted": bool(r.trusted[i]),
                "expected_next": r.forecast[i, 0],
                "lower_next": r.lower[i, 0],
                "upper_next": r.upper[i, 0],
                "naive_next": r.naive[i, 0],
                "rmse": r.rmse[i],
                "rmse_naive": r.rmse_naive[i],
                "mase": r.mase[i],
                "mase_naive": r.mase_naive[i],
                "skill_p": r.skill_p[i],
                "peak_pos": int(r.peak_pos[i]) if r.peak_pos[i] >= 0 else None,
                "n_outliers": int(r.outliers[i].sum()),
                "series": series,
            }
        )
    return rows


def execute(conn: psycopg.Connection, run_id: int, p: ForecastRunParams) -> Outcome:
    """Compute and store run ``run_id`` (the caller commits)."""
    t0 = time.perf_counter()
    starts = p.check()
    assert p.since is not None and p.until is not None
    pts = inputs.load_points(
        conn,
        inputs.PointFilter(
            layer=p.layer,
            category=p.category,
            substance=p.substance,
            agency=p.agency,
            since=p.since,
            until=p.until,
            with_time=True,
        ),
    )
    units, crs = _build_units(conn, p, pts.lon, pts.lat)
    if not units.names:
        raise InvalidRequest("no locations to forecast (no incident, border, point or zone)")
    if len(units.names) > MAX_LOCATIONS:
        raise InvalidRequest(
            f"{len(units.names)} locations: at most {MAX_LOCATIONS} are forecast in one run "
            "(choose larger cells or sectors)"
        )
    assert pts.epoch_s is not None
    steps = fu.step_index(pts.epoch_s, starts, p.until)
    cube = fu.count_cube(units.event_loc, steps, len(units.names), len(starts))
    n_events = int(cube.sum())
    if n_events == 0:
        noun = "incidents" if p.layer == "incidents" else "cases"
        raise InvalidRequest(f"the window holds no {noun} at these locations: nothing to forecast")
    result = forecast_cube(cube, p.engine_params(len(starts)))
    rows = cell_rows(result, cube, units.names)
    store.save_cells(conn, run_id, rows, _to_wgs84(units.geoms, crs))
    dt = time.perf_counter() - t0
    store.finish_run(
        conn, run_id, n_locations=len(rows), n_steps=len(starts), n_events=n_events, duration_s=dt
    )
    return Outcome(run_id, len(rows), len(starts), n_events, dt)


def run(
    conn: psycopg.Connection,
    params: ForecastRunParams,
    *,
    created_by: str = "",
    agency_id: int | None = None,
) -> Outcome:
    p = params.pinned()
    p.check()
    doc, filt = p.stored()
    run_id = store.create_run(
        conn, params=doc, input_filter=filt, step=p.step, created_by=created_by,
        agency_id=agency_id,
    )  # fmt: skip
    return execute(conn, run_id, p)


def stored_params(conn: psycopg.Connection, run_id: int) -> tuple[ForecastRunParams, dict]:
    row = store.get_run(conn, run_id)
    return ForecastRunParams.model_validate(row["params"]), row


def rerun(conn: psycopg.Connection, run_id: int, *, created_by: str = "") -> Outcome:
    """A new run with the stored parameters and the same pinned window."""
    p, row = stored_params(conn, run_id)
    return run(conn, p, created_by=created_by or row["created_by"], agency_id=row["agency_id"])


def step_times(p: ForecastRunParams, n_steps: int, horizon: int) -> tuple[list[str], list[str]]:
    """ISO starts of the history steps and of the forecast steps."""
    assert p.since is not None and p.until is not None
    starts = fu.step_starts(p.since, p.until, p.step)[:n_steps]
    t = p.until
    ahead = []
    for _ in range(horizon):
        ahead.append(t)
        if p.step == "month":
            t = t.replace(year=t.year + (t.month == 12), month=t.month % 12 + 1)
        else:
            t = t + timedelta(weeks=1)
    return [s.isoformat() for s in starts], [s.isoformat() for s in ahead]


@dataclass(frozen=True)
class Caller:
    agency_id: int | None
    role: str
    user: str


def execute_queued(url: str, run_id: int, params: ForecastRunParams, *, caller: Caller) -> None:
    """Compute a queued run (created by the API) under the caller's row-level security."""

    def scoped(conn: psycopg.Connection) -> None:
        set_caller_context(conn, agency_id=caller.agency_id, role=caller.role, user=caller.user)

    with connect(url) as conn:
        scoped(conn)
        store.set_status(conn, run_id, "running")
        conn.commit()
        try:
            scoped(conn)
            execute(conn, run_id, params)
            conn.commit()
        except Exception as exc:  # recorded on the run: the API has already answered
            log.warning("forecast run %d failed: %s", run_id, exc)
            conn.rollback()
            scoped(conn)
            msg = (
                str(exc)
                if isinstance(exc, GeomonError)
                else f"internal error ({type(exc).__name__})"
            )
            store.fail_run(conn, run_id, msg)
            conn.commit()


async def prepare_async(
    conn: psycopg.AsyncConnection, params: ForecastRunParams
) -> ForecastRunParams:
    """The run's parameters pinned and checked before it is queued, so that what can be told
    at once (a window of partial or too few steps, no incident in the window, an unknown
    agency, border or no crossing point or zone) is a 4xx, not a failed run later."""
    p = params.pinned()
    p.check()
    assert p.since is not None and p.until is not None
    n_ref = await store.reference_count_async(
        conn, p.units, border=p.border, country=p.country, zone_kind=p.zone_kind,
        bcp_kinds=BCP_KINDS,
    )  # fmt: skip
    if n_ref == 0:
        what = {
            "border_sectors": f"no border {p.border!r} in the reference data (codes like AFG-TJK)",
            "crossing_points": "no crossing points in the reference data for this country",
            "zones": "no active polygon zones to forecast on (zone_kind?)",
        }
        raise InvalidRequest(what[p.units])
    found = await store.window_has_events_async(
        conn, p.layer, category=p.category, substance=p.substance, agency=p.agency,
        since=p.since, until=p.until,
    )  # fmt: skip
    if not found:
        noun = "incident" if p.layer == "incidents" else "case"
        raise InvalidRequest(
            f"the window {p.since:%Y-%m-%d} to {p.until:%Y-%m-%d} holds no {noun} you may "
            "see for this filter: nothing to forecast"
        )
    return p


def chart_times(row: dict[str, Any], n_forecast: int) -> dict[str, Any]:
    """Step starts of a stored run's history and forecast, and what a season position is."""
    p = ForecastRunParams.model_validate(row["params"])
    history, ahead = step_times(p, int(row["n_steps"] or 0), n_forecast)
    return {"step": p.step, "season_length": season_length(p.step), "history_starts": history,
            "forecast_starts": ahead}  # fmt: skip
