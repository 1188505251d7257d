"""``geomon cases import FILE``: load a case file, idempotent on (source, external_id).

All or nothing by default: every bad row is reported by its line/feature number and nothing
is written. ``--skip-bad`` loads the good rows and writes the bad ones with reasons to a CSV.
``geomon cases export OUT --format gpkg|kml|csv|fgb`` writes the live cases through GDAL.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from geomon import case_files, cases
from geomon.cli.common import db_url, fail, reported_errors
from geomon.store import cases as store
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
    """Import cases; re-importing the same file changes nothing."""
    src = source or file.name
    with reported_errors(), connect(db_url()) as conn:
        vocab = store.vocab_sync(conn)
        good, bad = [], []
        for number, raw in case_files.read_file(file):
            try:
                good.append(cases.normalise(raw, vocab))
            except cases.CaseError as exc:
                bad.append((number, str(exc), raw))
        if bad and not skip_bad:
            for number, reason, _ in bad[:50]:
                typer.echo(f"{file.name}:{number}: {reason}", err=True)
            fail(f"{len(bad)} bad rows; nothing imported (use --skip-bad to load the rest)")
        if bad and rejects is not None:
            with rejects.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["line", "reason"])
                w.writerows((n, r) for n, r, _ in bad)
        owner = agency_id(conn, agency)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with conn.transaction():
            for case in good:
                _, outcome = store.upsert_case_sync(
                    conn, case, agency_id=owner, source=src, by="cli"
                )
                counts[outcome] += 1
    typer.echo(
        f"{file.name}: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {len(bad)} rejected"
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
