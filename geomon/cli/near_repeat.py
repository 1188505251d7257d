"""``geomon near-repeat run|show``: stored near-repeat (Knox) runs on the live database.

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

from geomon.analysis import near_repeat as service
from geomon.cli.common import db_url, fail, parse_utc, reported_errors
from geomon.store import near_repeat as store
from geomon.store.db import connect
from geomon.store.hotspot_inputs import agency_id

app = typer.Typer(help="Near-repeat analysis: Knox test runs (stored).", no_args_is_help=True)
Opt = typer.Option


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        fail(f"{what}: comma-separated numbers expected, got {text!r}")
        raise


@app.command("run")
def run(
    space: Annotated[str, Opt(help="Space band upper edges, metres, comma-separated.")] = (
        "0,500,1000,2000"
    ),
    time: Annotated[str, Opt(help="Time band upper edges, days, comma-separated.")] = (
        "7,14,21,28"
    ),
    permutations: Annotated[int, Opt(help="Monte Carlo permutations.")] = 999,
    seed: Annotated[int, Opt(help="Random seed (a run is reproducible).")] = 0,
    chain_space: Annotated[float | None, Opt(help="Chain link distance, m.")] = None,
    chain_time: Annotated[float | None, Opt(help="Chain link time, days.")] = None,
    category: Annotated[str | None, Opt(help="incidents.category")] = None,
    agency: Annotated[str | None, Opt(help="Only this agency's incidents; owns the run.")] = None,
    owner: Annotated[str | None, Opt(help="Agency owning the run (default --agency).")] = None,
    since: Annotated[str | None, Opt(help="Window start, ISO 8601 (default a year ago).")] = None,
    until: Annotated[str | None, Opt(help="Window end (exclusive), ISO 8601.")] = None,
    as_user: Annotated[str | None, Opt("--as", help="Recorded as created_by.")] = None,
) -> None:
    """Knox table with Monte Carlo expectation and the chains of near repeats; store the run."""
    try:
        params = service.NearRepeatParams.model_validate(
            {
                "space_edges_m": _floats(space, "--space"),
                "time_edges_days": _floats(time, "--time"),
                "permutations": permutations, "seed": seed, "chain_space_m": chain_space,
                "chain_time_days": chain_time, "category": category, "agency": agency,
                "since": parse_utc(since), "until": parse_utc(until),
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
    typer.echo(
        f"near-repeat run {out.run_id}: {out.n_incidents} incidents, {out.n_close_pairs} close "
        f"pairs, {out.n_chains} chains, {out.duration_s:.2f} s"
    )


@app.command("show")
def show(run_id: int) -> None:
    """A run's parameters, counts, Knox table and chains (JSON)."""
    with reported_errors(), connect(db_url()) as conn:
        row = store.get_run(conn, run_id)
        row.pop("crs", None)
        row["knox"] = store.read_cells(conn, run_id)
        row["chains"] = store.read_chains(conn, run_id)
    typer.echo(json.dumps(row, indent=2, ensure_ascii=False, default=str))
