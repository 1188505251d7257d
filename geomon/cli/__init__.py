"""The ``geomon`` command line.

Commands of packages that geomon must not import (sensors, api) are contributed through the
``geomon.commands`` entry-point group (see pyproject.toml): each entry point names a function
``register(app: typer.Typer) -> None``.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points

import typer

from geomon.cli import db as db_cli
from geomon.cli import demo as demo_cli
from geomon.cli import devices as devices_cli
from geomon.cli import reference as reference_cli
from geomon.cli import users as users_cli

app = typer.Typer(
    name="geomon",
    help="geomon: border monitoring and mobile-team tracking on PostGIS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(devices_cli.app, name="devices")
app.command("load-reference")(reference_cli.load_reference)
app.command("demo-data")(demo_cli.demo_data)
users_cli.register(app)

_OPTIONAL_SUBAPPS = (
    ("geomon.cli.hotspots", "app", "hotspots"),
    ("geomon.cli.corridor", "corridor_app", "corridor"),
    ("geomon.cli.corridor", "surfaces_app", "surfaces"),
    ("geomon.cli.corridor", "route_app", "route"),
    ("geomon.cli.zones", "zones_app", "zones"),
    ("geomon.cli.zones", "events_app", "events"),
    ("geomon.cli.cases", "app", "cases"),
    ("geomon.cli.entities", "app", "entities"),
    ("geomon.cli.exchange", "app", "exchange"),
    ("geomon.cli.forecasts", "app", "forecast"),
    ("geomon.cli.near_repeat", "app", "near-repeat"),
    ("geomon.cli.tak", "app", "tak"),
    ("geomon.cli.watchlists", "app", "watchlist"),
    ("geomon.cli.reports", "app", "reports"),
    ("geomon.cli.basemap", "app", "basemap"),
)


def _register_subapps(only: str | None = None) -> None:
    """Add the sub-apps; with ``only``, just the one named (their imports — scipy, numba,
    rasterio — cost seconds, and a ``geomon listen`` should not pay for ``geomon hotspots``)."""
    import importlib

    for module_name, attr, name in _OPTIONAL_SUBAPPS:
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.add_typer(getattr(module, attr), name=name)
    for ep in entry_points(group="geomon.commands"):
        ep.load()(app)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level."),
) -> None:
    """geomon: border monitoring and mobile-team tracking on PostGIS."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    first = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if first is None:  # `geomon --help`: list everything
        _register_subapps()
    else:  # just the sub-app asked for (none when the command is another one)
        known = {name for _, _, name in _OPTIONAL_SUBAPPS}
        _register_subapps(only=first if first in known else "")
    app()
