"""``geomon devices``: the device registry."""

from __future__ import annotations

import typer

from geomon.cli.common import db_url, reported_errors
from geomon.credentials import new_ingest_token
from geomon.store.db import connect
from geomon.store.devices import add_device, bind_device, list_devices

app = typer.Typer(help="Register and list devices.", no_args_is_help=True)


@app.command("add")
def add(
    uid: str = typer.Option(..., "--uid", help="IMEI or the id the device sends."),
    kind: str = typer.Option(..., "--kind", help="tracker | phone | serial-gps | sensor"),
    agency: str = typer.Option(..., "--agency", help="Owning agency code (created if new)."),
    name: str = typer.Option(None, "--name", help="Display name (default: the uid)."),
    place: str = typer.Option(
        None, "--place", help="A fixed sensor's post: a place name, alias or id (a BCP)."
    ),
    lat: float = typer.Option(None, "--lat", help="A fixed sensor's latitude (with --lon)."),
    lon: float = typer.Option(None, "--lon", help="A fixed sensor's longitude (with --lat)."),
    token: bool = typer.Option(
        False,
        "--token",
        help="Generate an ingest token for HTTP/MQTT sources; it is printed "
        "once and only its argon2 hash is stored (a new token replaces the old one).",
    ),
) -> None:
    """Register a device (or update the one with this uid)."""
    secret, token_hash = new_ingest_token() if token else (None, None)
    with reported_errors(), connect(db_url()) as conn:
        dev = add_device(conn, uid=uid, kind=kind, agency=agency, name=name, token_hash=token_hash)
        where = None
        if place or lat is not None or lon is not None:
            where = bind_device(conn, uid, place=place, lat=lat, lon=lon)
    typer.echo(f"device {dev.id}: {dev.uid} ({dev.kind}) {dev.name}")
    if where is not None:
        typer.echo(f"place {where[0]}, point {where[1]}")
    if secret:
        typer.echo(f"token: {secret}")
        typer.echo(
            "(shown once: configure the device with it, e.g. Authorization: Bearer "
            "TOKEN or ?token=TOKEN for OsmAnd)",
            err=True,
        )


@app.command("list")
def list_() -> None:
    """List registered devices."""
    with reported_errors(), connect(db_url()) as conn:
        for row in list_devices(conn):
            typer.echo("\t".join(str(c) for c in row))
