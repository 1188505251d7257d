"""``geomon forecast run|rerun|show``: seasonal forecast runs on the live database.

Runs as the database owner (no row-level-security context), so ``--agency`` filters the
incidents and owns the run (``--owner`` overrides), which makes it visible to that agency's
users through the API.
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from pydantic import ValidationError

from geomon.analysis import forecasts as service
from geomon.cli.common import db_url, fail, parse_utc, reported_errors
from geomon.store import forecasts as store
from geomon.store.db import connect
from geomon.store.hotspot_inputs import agency_id

app = typer.Typer(help="Seasonal risk forecasts (stored runs).", no_args_is_help=True)
Opt = typer.Option


@app.command("run")
def run(
    units: Annotated[str, Opt(help="grid, border_sectors, crossing_points or zones.")] = (
        "border_sectors"
    ),
    border: Annotated[str | None, Opt(help="Border code for sectors, e.g. AFG-TJK.")] = None,
    sector_km: Annotated[float, Opt(help="Border sector length, km.")] = 25.0,
    buffer_km: Annotated[float, Opt(help="Distance to a sector / crossing point, km.")] = 10.0,
    cell_km: Annotated[float, Opt(help="Grid cell size, km.")] = 10.0,
    country: Annotated[str | None, Opt(help="Crossing points of this ISO3 country.")] = None,
    zone_kind: Annotated[str | None, Opt(help="Only zones of this kind.")] = None,
    layer: Annotated[str, Opt(help="incidents or cases (seizure cases).")] = "incidents",
    category: Annotated[str | None, Opt(help="incidents.category or cases.category")] = None,
    substance: Annotated[str | None, Opt(help="cases.substance (with --layer cases).")] = None,
    agency: Annotated[str | None, Opt(help="Only this agency's incidents; owns the run.")] = None,
    owner: Annotated[str | None, Opt(help="Agency owning the run (default --agency).")] = None,
    step: Annotated[str, Opt(help="month or week.")] = "month",
    since: Annotated[str | None, Opt(help="Window start, ISO 8601 (first of a month).")] = None,
    until: Annotated[str | None, Opt(help="Window end (exclusive), ISO 8601.")] = None,
    horizon: Annotated[int, Opt(help="Steps to forecast (1-24).")] = 12,
    backtest_steps: Annotated[int | None, Opt(help="Steps held back for validation.")] = None,
    as_user: Annotated[str | None, Opt("--as", help="Recorded as created_by.")] = None,
) -> None:
    """Build the cube from incidents, forecast every location, store the run."""
    try:
        params = service.ForecastRunParams.model_validate(
            {
                "units": units, "border": border, "sector_km": sector_km,
                "buffer_km": buffer_km, "cell_km": cell_km, "country": country,
                "zone_kind": zone_kind, "layer": layer, "category": category,
                "substance": substance, "agency": agency, "step": step,
                "since": parse_utc(since), "until": parse_utc(until), "horizon": horizon,
                "backtest_steps": backtest_steps,
            }
        )  # fmt: skip
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        raise
    with reported_errors(), connect(db_url()) as conn:
        code = owner or agency
        owner_id = agency_id(conn, code) if code else None
        out = service.run(conn, params, created_by=as_user or getpass.getuser(),
                          agency_id=owner_id)  # fmt: skip
        conn.commit()
    _print(out)


def _print(out: service.Outcome) -> None:
    typer.echo(
        f"forecast run {out.run_id}: {out.n_locations} locations x {out.n_steps} steps, "
        f"{out.n_events} incidents, {out.duration_s:.2f} s"
    )


@app.command("rerun")
def rerun(run_id: int, as_user: Annotated[str | None, Opt("--as")] = None) -> None:
    """A new run with the stored parameters and window of RUN_ID."""
    with reported_errors(), connect(db_url()) as conn:
        out = service.rerun(conn, run_id, created_by=as_user or "")
        conn.commit()
    _print(out)


@app.command("show")
def show(run_id: int) -> None:
    """A run's parameters, counts, and its ten hottest expected locations."""
    with reported_errors(), connect(db_url()) as conn:
        row = store.get_run(conn, run_id)
        summary = store.cell_summary(conn, run_id)
    row["created_at"] = row["created_at"].isoformat()
    typer.echo(json.dumps({**row, **summary}, indent=2, ensure_ascii=False, default=str))
