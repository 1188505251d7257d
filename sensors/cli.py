"""Ingest commands, contributed to the ``geomon`` CLI through the geomon.commands entry point."""

from __future__ import annotations

import asyncio
import importlib
import logging
from pathlib import Path

import typer

from geomon.cli.common import fail, settings
from geomon.errors import GeomonError


def listen(
    nmea: str = typer.Option("", "--nmea", help="HOST:PORT for the NMEA 0183 TCP listener."),
    teltonika: str = typer.Option("", "--teltonika", help="HOST:PORT for Teltonika TCP."),
    osmand: str = typer.Option("", "--osmand", help="HOST:PORT for OsmAnd HTTP (+ /metrics, "
                               "POST /observations)."),
    mqtt: str = typer.Option("", "--mqtt", help="mqtt://HOST:PORT of the broker to follow."),
    sensor_tcp: str = typer.Option("", "--sensor-tcp", help="HOST:PORT for the BCP line feed."),
    nmea_udp: str = typer.Option("", "--nmea-udp", help="HOST:PORT for NMEA 0183 over UDP."),
    metrics: str = typer.Option("", "--metrics", help="HOST:PORT serving /metrics (the OsmAnd "
                                "port serves it too)."),
    nmea_device: str = typer.Option(
        "", "--nmea-device", help="Bind every NMEA connection to this device id "
        "(default: the id prefix before '$' on each line)."),
    accept_unknown: bool = typer.Option(
        False, "--accept-unknown", help="Register unknown devices on first contact (demos)."),
) -> None:
    """Run the ingest listeners (options override GEOMON_INGEST__* settings)."""
    from sensors.service import run_forever

    s = settings()
    for field, value in (("nmea_tcp", nmea), ("teltonika_tcp", teltonika),
                         ("osmand_http", osmand), ("mqtt_url", mqtt), ("sensor_tcp", sensor_tcp),
                         ("nmea_udp", nmea_udp), ("metrics_http", metrics)):
        if value:
            setattr(s.ingest, field, value)
    if accept_unknown:
        s.ingest.accept_unknown = True
    if not any(getattr(s.ingest, f) for f in LISTENER_FIELDS):
        fail("no listener configured: give --nmea/--teltonika/--osmand/--mqtt/--sensor-tcp/"
             "--nmea-udp (or GEOMON_INGEST__*)")
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run_forever(s, nmea_bind_device=nmea_device))
    except GeomonError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


LISTENER_FIELDS = ("nmea_tcp", "teltonika_tcp", "osmand_http", "mqtt_url", "sensor_tcp",
                   "nmea_udp")


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
