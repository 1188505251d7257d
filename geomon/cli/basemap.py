"""``geomon basemap import-osm FILE``: roads and tracks of an OpenStreetMap extract into the
offline basemap (they show on the map from a zoom that depends on their class)."""

from __future__ import annotations

from pathlib import Path

import typer

from geomon.cli.common import db_url, fail, reported_errors
from geomon.osm_roads import OSM_SOURCE, read_osm_roads
from geomon.store.basemap import load_roads
from geomon.store.db import connect

app = typer.Typer(help="The offline basemap.", no_args_is_help=True)


@app.callback()
def _basemap() -> None:
    """The offline basemap (a group, so that one command still takes its name)."""


@app.command("import-osm")
def import_osm(
    file: Path = typer.Argument(..., help="An OpenStreetMap extract: .osm.pbf or .osm."),
) -> None:
    """Replace the basemap's roads with the ways of FILE that have a highway tag."""
    if not file.is_file():
        fail(f"no such file: {file}")
    with reported_errors():
        roads = list(read_osm_roads(file))
        with connect(db_url()) as conn:
            n = load_roads(conn, roads, f"{OSM_SOURCE}: {file.name}")
    typer.echo(f"roads: {n}")
