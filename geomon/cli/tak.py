"""``geomon tak stream``: the agency's teams and critical events to a TAK server (CoT XML).

Configuration is on the command line (docs/exchange.md): ``--to HOST:PORT`` (a TAK Server's
TCP input, usually 8087, or with ``--ca``/``--cert``/``--key`` its TLS port 8089), ``--agency``,
``--interval`` seconds between rounds, ``--since`` how old a fix or event may be.
"""

from __future__ import annotations

import logging

import typer

from geomon.cli.common import db_url, fail, reported_errors
from geomon.store.db import connect
from geomon.store.hotspot_inputs import agency_id

app = typer.Typer(help="TAK (Cursor-on-Target) interoperability.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """TAK (Cursor-on-Target) interoperability."""


@app.command("stream")
def stream_cmd(
    to: str = typer.Option(..., "--to", help="HOST:PORT of the TAK server's CoT input."),
    agency: str = typer.Option(..., "--agency", help="Whose teams and events to send."),
    interval: float = typer.Option(10.0, "--interval", min=1.0, help="Seconds between rounds."),
    since: float = typer.Option(
        3600.0, "--since", min=60.0, help="Oldest fix/event sent, in seconds."
    ),
    once: bool = typer.Option(False, "--once", help="Send one round and exit."),
    ca: str = typer.Option(None, "--ca", help="CA file of the server's TLS certificate."),
    cert: str = typer.Option(None, "--cert", help="Client certificate (PEM) for TLS."),
    key: str = typer.Option(None, "--key", help="Client key (PEM) for TLS."),
) -> None:
    """Send Cursor-on-Target events every --interval seconds (or --once)."""
    from geomon.exchange.tak_stream import TakTarget, snapshot, stream

    host, _, port = to.rpartition(":")
    if not host or not port.isdigit():
        fail(f"--to must be HOST:PORT, not {to!r}")
    target = TakTarget(host.strip("[]"), int(port), ca, cert, key)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with reported_errors(), connect(db_url(), autocommit=True) as conn:
        owner = agency_id(conn, agency)
        try:
            n = stream(target, lambda: snapshot(conn, owner, since), interval_s=interval, once=once)
        except OSError as exc:
            fail(f"cannot send to {to}: {exc}")
            return
        except KeyboardInterrupt:
            return
    typer.echo(f"sent {n} CoT events to {to}")
