"""``geomon devices``: the device registry."""

from __future__ import annotations

import typer

from geomon.cli.common import db_url, reported_errors
from geomon.store.devices import add_device, list_devices
from geomon.store.db import connect

app = typer.Typer(help="Register and list devices.", no_args_is_help=True)


@app.command("add")
def add(
    uid: str = typer.Option(..., "--uid", help="IMEI or the id the device sends."),
    kind: str = typer.Option(..., "--kind", help="tracker | phone | serial-gps | sensor"),
    agency: str = typer.Option(..., "--agency", help="Owning agency code (created if new)."),
    name: str = typer.Option(None, "--name", help="Display name (default: the uid)."),
) -> None:
    """Register a device (or update the one with this uid)."""
    with reported_errors(), connect(db_url()) as conn:
        dev = add_device(conn, uid=uid, kind=kind, agency=agency, name=name)
    typer.echo(f"device {dev.id}: {dev.uid} ({dev.kind}) {dev.name}")


@app.command("list")
def list_() -> None:
    """List registered devices."""
    with reported_errors(), connect(db_url()) as conn:
        for row in list_devices(conn):
            typer.echo("\t".join(str(c) for c in row))
