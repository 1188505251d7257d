"""``geomon cases import FILE``: load a case file, idempotent on (source, external_id).

Streamed: rows are validated one by one (geomon.cases.normalise) and COPYed into a staging
table, then merged by one set-based upsert (geomon.store.case_import) — no row cap. All or
nothing by default: every bad row is reported by its line/feature number and nothing is
written. ``--skip-bad`` loads the good rows and writes the bad ones with reasons to a CSV.
``geomon cases export OUT --format gpkg|kml|csv|fgb`` writes the live cases through GDAL.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from geomon import case_import
from geomon.cli.common import db_url, fail, reported_errors
from geomon.store.db import connect
from geomon.store.hotspot_inputs import agency_id

app = typer.Typer(help="Seizure cases: import.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Seizure cases."""


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV/GeoJSON/GPKG.")],
    agency: str = typer.Option("DEFAULT", "--agency", help="Owning agency code."),
    source: str = typer.Option("", "--source", help="Source system; default: the file name."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Load the good rows."),
    rejects: Path = typer.Option(None, "--rejects", help="CSV for bad rows (with --skip-bad)."),
) -> None:
    """Import cases of any size (COPY); re-importing the same file changes nothing."""
    src = source or file.name
    with reported_errors(), connect(db_url()) as conn:
        result = case_import.import_file(
            conn, file, agency_id=agency_id(conn, agency), source=src, by="cli", skip_bad=skip_bad
        )
    bad, outcome = result.bad, result.outcome
    if outcome is None:
        for number, reason in bad[:50]:
            typer.echo(f"{file.name}:{number}: {reason}", err=True)
        if len(bad) > 50:
            typer.echo(f"… and {len(bad) - 50} more", err=True)
        fail(f"{len(bad)} bad rows; nothing imported (use --skip-bad to load the rest)")
        return
    if bad and rejects is not None:
        with rejects.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["line", "reason"])
            w.writerows(bad)
    typer.echo(
        f"{file.name}: {outcome.created} created, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged, {len(bad)} rejected"
    )


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="File to write.")],
    fmt: str = typer.Option("gpkg", "--format", help="gpkg, kml, csv or fgb."),
    agency: str = typer.Option(None, "--agency", help="Only this agency's cases."),
) -> None:
    """Write live cases as GeoPackage, KML, CSV or FlatGeobuf (GDAL)."""
    from geomon.exchange import files

    if fmt not in files.DRIVERS:
        fail(f"unknown format {fmt!r}; accepted: {', '.join(files.DRIVERS)}")
    with reported_errors(), connect(db_url()) as conn:
        owner = None if agency is None else agency_id(conn, agency)
        n = files.write_cases(conn, out, fmt, agency_id=owner)
    typer.echo(f"wrote {n} cases to {out}")
