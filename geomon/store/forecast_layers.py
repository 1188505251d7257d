"""Forecast runs as layers: the SQL an OGC collection ``forecasts-RUN`` and a vector-tile
layer of the same id read (geomon.store.features and geomon.store.tiles build their specs
from these; this module imports neither, so neither imports the other).

One feature per location of the run. Polygons (grid cells, border-sector strips, zones) are
made multi so an exported layer has one geometry type; crossing points stay points. The
temporal extent is the forecast's first step ("expected next month/week"): [until, until +
one step). Cells follow their run's row-level security.
"""

from __future__ import annotations

TABLES = ("forecast_cells", "forecast_runs")
PREFIX = "forecasts"

PROPS = (
    "loc_id",
    "name",
    "status",
    "model",
    "trusted",
    "expected_next",
    "lower_next",
    "upper_next",
    "naive_next",
    "peak",
    "peak_expected",
    "rmse",
    "rmse_naive",
    "mase",
    "mase_naive",
    "skill_p",
    "n_outliers",
    "next_from",
    "next_to",
)

_NEXT_FROM = "(r.params->>'until')::timestamptz"
_NEXT_TO = (
    f"{_NEXT_FROM} + CASE r.step WHEN 'week' THEN interval '7 days' ELSE interval '1 month' END"
)
_PEAK_EXPECTED = (
    "(SELECT max(v::float8) FROM jsonb_array_elements_text(c.series->'forecast') v "
    "WHERE v <> 'null')"
)

COLLECTION_SOURCE = (
    "SELECT c.loc_id, CASE WHEN ST_Dimension(c.geom) = 2 THEN ST_Multi(c.geom) ELSE c.geom END "
    f"geom, {_NEXT_FROM} t0, {_NEXT_TO} t1, c.name, c.status, c.model, c.trusted, "
    "c.expected_next, c.lower_next, c.upper_next, c.naive_next, c.peak_pos + 1 peak, "
    f"{_PEAK_EXPECTED} peak_expected, c.rmse, c.rmse_naive, c.mase, c.mase_naive, c.skill_p, "
    f"c.n_outliers, {_NEXT_FROM} next_from, {_NEXT_TO} next_to "
    "FROM forecast_cells c JOIN forecast_runs r ON r.id = c.run_id WHERE c.run_id = {run}"
)

TILE_SOURCE = (
    "SELECT c.geom, c.loc_id, c.name, c.status, c.trusted, c.expected_next, c.lower_next, "
    "c.upper_next, c.naive_next, c.peak_pos + 1 peak, c.mase, c.mase_naive "
    "FROM forecast_cells c WHERE c.run_id = {run}"
)
TILE_FIELDS = {
    "loc_id": "Number",
    "name": "String",
    "status": "String",
    "trusted": "Boolean",
    "expected_next": "Number",
    "lower_next": "Number",
    "upper_next": "Number",
    "naive_next": "Number",
    "peak": "Number",
    "mase": "Number",
    "mase_naive": "Number",
}

# the run's units → the collection's geometry type
GEOMETRY = {"crossing_points": "Point"}
DEFAULT_GEOMETRY = "MultiPolygon"


def title(run_id: int, units: str = "") -> str:
    return f"Forecast run {run_id} ({units.replace('_', ' ')})".replace(" ()", "")


def description(run_id: int) -> str:
    return (
        f"Locations of seasonal forecast run {run_id}: expected count for the next step with "
        "its prediction interval, the seasonal-naive baseline, the expected peak month (or "
        "week), backtest RMSE and MASE of the model and of the baseline, and whether the "
        "forecast is trusted (beats the baseline). Locations without enough data have status "
        "no_data or not_enough_data and no forecast."
    )


def run_id_of(layer_id: str) -> int | None:
    """``forecasts-12`` → 12; None for any other id."""
    prefix, _, num = layer_id.partition("-")
    return int(num) if prefix == PREFIX and num.isdigit() and len(num) < 10 else None
