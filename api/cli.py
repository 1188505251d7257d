"""``geomon serve``: the API and map, plus the ingest listeners as a child process.

The listeners run in their own process (``geomon listen``) so the API never imports the
ingest adapters (DESIGN.md section 2) and an API crash never stops ingest; committed fixes
reach the API through the database (NOTIFY on geomon_live).
"""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from geomon.cli.common import fail, settings
from geomon.settings import IngestSettings

_LISTENER_OPTIONS = (
    ("nmea_tcp", "--nmea"),
    ("teltonika_tcp", "--teltonika"),
    ("osmand_http", "--osmand"),
    ("mqtt_url", "--mqtt"),
    ("sensor_tcp", "--sensor-tcp"),
    ("nmea_udp", "--nmea-udp"),
    ("metrics_http", "--metrics"),
)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies (uvicorn re-raises the signal it
    caught, so the parent's ``finally`` may never run)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _listener_args(ingest: IngestSettings) -> list[str]:
    """``geomon listen`` with every listener configured in GEOMON_INGEST__* (empty: none)."""
    args = [sys.executable, "-m", "geomon.cli.__main__", "listen"]
    for field, option in _LISTENER_OPTIONS:
        if getattr(ingest, field):
            args += [option, str(getattr(ingest, field))]
    if len(args) == 4:
        return []
    return args + (["--accept-unknown"] if ingest.accept_unknown else [])


def serve(
    host: str = typer.Option(None, "--host", help="Bind address (default GEOMON_API__HOST)."),
    port: int = typer.Option(None, "--port", help="Port (default GEOMON_API__PORT)."),
    with_listeners: bool = typer.Option(
        True,
        "--listeners/--no-listeners",
        help="Also run the ingest listeners configured in GEOMON_INGEST__*.",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=0,
        help="uvicorn worker processes (0 = one per CPU), each with its own socket on the "
        "port (SO_REUSEPORT; needs a fixed port), DB pool, geomon_live listener, tile "
        "and page caches, principal cache and audit writer.",
    ),
) -> None:
    """Serve the API and the situation map (and the configured ingest listeners)."""
    import uvicorn

    from api.app import create_app
    from geomon.http_server import head_timeout_protocol

    s = settings()
    if not s.db.url:
        fail("GEOMON_DB__URL is not set (run scripts/dev-db)")
    child = None
    listener_args = _listener_args(s.ingest)
    if with_listeners and listener_args:
        child = subprocess.Popen(listener_args, env=os.environ.copy(), preexec_fn=_die_with_parent)
    workers = workers or os.cpu_count() or 1
    try:
        if workers == 1:
            uvicorn.run(
                create_app(s),
                host=host or s.api.host,
                port=port or s.api.port,
                log_level="info",
                access_log=False,
                http=head_timeout_protocol(s.api.header_timeout_s),
            )
        else:  # one SO_REUSEPORT socket per worker: the kernel spreads connections
            from api.workers import run_workers

            run_workers(
                host or s.api.host,
                port or s.api.port,
                workers,
                header_timeout_s=s.api.header_timeout_s,
            )
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=10)


def register(app: typer.Typer) -> None:
    """Entry point: add ``serve`` to the main CLI."""
    app.command("serve")(serve)
