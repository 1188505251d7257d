"""Ingest commands, contributed to the ``geomon`` CLI through the geomon.commands entry point."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import typer

from geomon.cli.common import fail, settings
from geomon.errors import GeomonError


def listen(
    nmea: str = typer.Option("", "--nmea", help="HOST:PORT for the NMEA 0183 TCP listener."),
    nmea_device: str = typer.Option(
        "", "--nmea-device", help="Bind every NMEA connection to this device id "
        "(default: the id prefix before '$' on each line)."),
    accept_unknown: bool = typer.Option(
        False, "--accept-unknown", help="Register unknown devices on first contact (demos)."),
) -> None:
    """Run the ingest listeners (from options, else from GEOMON_INGEST__* settings)."""
    from sensors.service import run_forever

    s = settings()
    if nmea:
        s.ingest.nmea_tcp = nmea
    if accept_unknown:
        s.ingest.accept_unknown = True
    if not s.ingest.nmea_tcp:
        fail("no listener configured: give --nmea HOST:PORT (or GEOMON_INGEST__NMEA_TCP)")
    try:
        asyncio.run(run_forever(s, nmea_bind_device=nmea_device))
    except GeomonError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


def simulate(
    teams: int = typer.Option(20, "--teams", min=1, max=5000, help="Number of vehicles."),
    to: str = typer.Option("127.0.0.1:5010", "--to", help="HOST:PORT of the NMEA listener."),
    rate: float = typer.Option(1.0, "--rate", min=0.01, max=50, help="Fixes per second per team."),
    speedup: float = typer.Option(1.0, "--speedup", min=0.1, max=1000,
                                  help="Drive this many times faster than real time."),
    duration: float = typer.Option(None, "--duration", help="Stop after SECONDS (default: never)."),
    places: Path = typer.Option(None, "--places", help="Places CSV (default: reference data)."),
    seed: int = typer.Option(7, "--seed", help="Random seed of routes and noise."),
) -> None:
    """Drive a fleet of mobile teams around the region's crossing points over NMEA/TCP."""
    from sensors.simulate import run_fleet

    csv_path = places or settings().reference_dir / "places_central_asia.csv"
    if not csv_path.is_file():
        fail(f"places file not found: {csv_path}")
    try:
        sent = asyncio.run(run_fleet(teams, to, csv_path, rate_hz=rate, speedup=speedup,
                                     duration_s=duration, seed=seed))
        typer.echo(f"sent {sent} fixes")
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    """Entry point: add the ingest commands to the main CLI."""
    app.command("listen")(listen)
    app.command("simulate")(simulate)
    try:
        decode = importlib.import_module("sensors.cli_decode")
    except ModuleNotFoundError as exc:
        if exc.name != "sensors.cli_decode":
            raise
    else:
        app.add_typer(decode.app, name="decode")
