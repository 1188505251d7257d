"""Ingest commands, contributed to the ``geomon`` CLI through the geomon.commands entry point."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer

from geomon.cli.common import fail, settings
from geomon.errors import GeomonError


def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """Run the listener on uvloop when installed (it comes with uvicorn[standard]): the
    stock asyncio loop's own overhead per read, write and future is a large share of a
    listener's CPU (docs/performance.md)."""
    from geomon.pipeline.gc_tuning import freeze_startup_heap

    freeze_startup_heap()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def listen(
    nmea: str = typer.Option("", "--nmea", help="HOST:PORT for the NMEA 0183 TCP listener."),
    teltonika: str = typer.Option("", "--teltonika", help="HOST:PORT for Teltonika TCP."),
    osmand: str = typer.Option(
        "", "--osmand", help="HOST:PORT for OsmAnd HTTP (+ /metrics, POST /observations)."
    ),
    mqtt: str = typer.Option("", "--mqtt", help="mqtt://HOST:PORT of the broker to follow."),
    sensor_tcp: str = typer.Option("", "--sensor-tcp", help="HOST:PORT for the BCP line feed."),
    cot: str = typer.Option("", "--cot", help="HOST:PORT for Cursor-on-Target XML (TAK)."),
    nmea_udp: str = typer.Option("", "--nmea-udp", help="HOST:PORT for NMEA 0183 over UDP."),
    metrics: str = typer.Option(
        "", "--metrics", help="HOST:PORT serving /metrics (the OsmAnd port serves it too)."
    ),
    nmea_device: str = typer.Option(
        "",
        "--nmea-device",
        help="Bind every NMEA connection to this device id "
        "(default: the id prefix before '$' on each line).",
    ),
    accept_unknown: bool = typer.Option(
        False, "--accept-unknown", help="Register unknown devices on first contact (demos)."
    ),
    workers: int = typer.Option(
        0,
        "--workers",
        min=0,
        max=16,
        help="Processes sharing the "
        "TCP/HTTP ports (default GEOMON_INGEST__WORKERS, else 2 on a "
        "machine with 2+ cores when every TCP/HTTP port is fixed).",
    ),
) -> None:
    """Run the ingest listeners (options override GEOMON_INGEST__* settings)."""
    from sensors.service import run_forever

    s = settings()
    for field, value in (
        ("nmea_tcp", nmea),
        ("teltonika_tcp", teltonika),
        ("osmand_http", osmand),
        ("mqtt_url", mqtt),
        ("sensor_tcp", sensor_tcp),
        ("cot_tcp", cot),
        ("nmea_udp", nmea_udp),
        ("metrics_http", metrics),
    ):
        if value:
            setattr(s.ingest, field, value)
    if accept_unknown:
        s.ingest.accept_unknown = True
    if workers:
        s.ingest.workers = workers
    elif "GEOMON_INGEST__WORKERS" not in os.environ:
        s.ingest.workers = default_workers(s.ingest)
    if not any(getattr(s.ingest, f) for f in LISTENER_FIELDS):
        fail(
            "no listener configured: give --nmea/--teltonika/--osmand/--mqtt/--sensor-tcp/"
            "--cot/--nmea-udp (or GEOMON_INGEST__*)"
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    worker = int(os.environ.get(WORKER_ENV, "0"))
    if worker == 0:  # before our own SO_REUSEPORT workers bind: nobody else may hold a port
        from sensors.transports.ports import ensure_ports_free

        try:
            ensure_ports_free(s.ingest)
        except GeomonError as exc:
            fail(str(exc))
    children = _spawn_workers(s.ingest.workers) if worker == 0 else []
    try:
        _run_fast(run_forever(s, nmea_bind_device=nmea_device, worker=worker))
    except GeomonError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.terminate()


WORKER_ENV = "GEOMON_LISTEN_WORKER"


def default_workers(ing: Any) -> int:
    """2 listener processes when there are 2+ cores (the Python side is CPU-bound, so a
    second process nearly doubles the Teltonika rate) and every configured TCP/HTTP
    port is fixed (SO_REUSEPORT cannot share an ephemeral ``:0`` port); else 1."""
    ports = [
        getattr(ing, f)
        for f in (
            "nmea_tcp",
            "teltonika_tcp",
            "osmand_http",
            "sensor_tcp",
            "cot_tcp",
            "metrics_http",
        )
        if getattr(ing, f)
    ]
    if (os.cpu_count() or 1) < 2 or any(p.rpartition(":")[2] in ("", "0") for p in ports):
        return 1
    return 2


def _spawn_workers(n: int) -> list[subprocess.Popen[bytes]]:
    """The extra ``--workers`` processes: the same command line, marked by WORKER_ENV."""
    argv = [sys.executable, "-m", "geomon.cli.__main__", *sys.argv[1:]]
    return [
        subprocess.Popen(
            argv, env=dict(os.environ, **{WORKER_ENV: str(i)}), preexec_fn=_die_with_parent
        )
        for i in range(1, n)
    ]


def _die_with_parent() -> None:
    """In a worker: SIGTERM when the first process dies (a SIGTERM ends it without running
    its ``finally``, which would leave the workers holding the ports)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


LISTENER_FIELDS = (
    "nmea_tcp",
    "teltonika_tcp",
    "osmand_http",
    "mqtt_url",
    "sensor_tcp",
    "cot_tcp",
    "nmea_udp",
)


def simulate(
    teams: int = typer.Option(20, "--teams", min=1, max=5000, help="Number of vehicles."),
    protocol: str = typer.Option(
        "nmea", "--protocol", help="nmea | teltonika | osmand | mqtt | mix"
    ),
    to: str = typer.Option(
        "",
        "--to",
        help="HOST:PORT of the NMEA listener "
        "(default GEOMON_INGEST__NMEA_TCP, else 127.0.0.1:5010).",
    ),
    teltonika_to: str = typer.Option(
        "", "--teltonika-to", help="HOST:PORT (default GEOMON_INGEST__TELTONIKA_TCP)."
    ),
    osmand_to: str = typer.Option(
        "", "--osmand-to", help="HOST:PORT (default GEOMON_INGEST__OSMAND_HTTP)."
    ),
    mqtt_to: str = typer.Option(
        "", "--mqtt-to", help="mqtt://HOST:PORT (default GEOMON_INGEST__MQTT_URL)."
    ),
    rate: float = typer.Option(1.0, "--rate", min=0.01, max=50, help="Fixes per second per team."),
    gap_every: float = typer.Option(
        0.0,
        "--gap-every",
        min=0,
        max=86400,
        help="Coverage gap (a quarter of the period) every S "
        "seconds; trackers replay their buffer after it. 0 = none.",
    ),
    speedup: float = typer.Option(
        1.0, "--speedup", min=0.1, max=1000, help="Drive this many times faster than real time."
    ),
    duration: float = typer.Option(0.0, "--duration", help="Stop after SECONDS (0: never)."),
    places: str = typer.Option("", "--places", help="Places CSV (default: reference data)."),
    seed: int = typer.Option(7, "--seed", help="Random seed of routes and noise."),
    plates_to: str = typer.Option(
        "",
        "--plates-to",
        help="HOST:PORT of the BCP sensor feed: also run the demo plate cameras at Khorgos "
        "(default GEOMON_INGEST__SENSOR_TCP; none when both are empty).",
    ),
    plate_every: float = typer.Option(
        3.0, "--plate-every", min=0.05, max=3600, help="Seconds between plate reads."
    ),
) -> None:
    """Drive a fleet of mobile teams around the region's crossing points, speaking the real
    protocols (NMEA/TCP, Teltonika/TCP, OsmAnd/HTTP, MQTT, or a mix of them); with a sensor
    feed, plate cameras at a crossing read a watch-listed plate now and then (issue 17)."""
    from sensors.simulate import run_fleet
    from sensors.simulate_plates import run as run_plates

    s = settings()
    if protocol not in ("nmea", "teltonika", "osmand", "mqtt", "mix"):
        fail(f"unknown protocol {protocol!r}")
    targets = {
        "nmea": to or s.ingest.nmea_tcp or "127.0.0.1:5010",
        "teltonika": teltonika_to or s.ingest.teltonika_tcp,
        "osmand": osmand_to or s.ingest.osmand_http,
        "mqtt": mqtt_to or s.ingest.mqtt_url,
    }
    if protocol != "mix" and not targets[protocol]:
        fail(f"no address for {protocol}: give --{protocol}-to")
    if protocol == "mix" and not (to or s.ingest.nmea_tcp):
        targets.pop("nmea")
    csv_path = Path(places) if places else s.reference_dir / "places_central_asia.csv"
    if not csv_path.is_file():
        fail(f"places file not found: {csv_path}")
    cameras_to = plates_to or s.ingest.sensor_tcp

    async def both() -> tuple[int, int]:
        fleet = run_fleet(
            teams,
            {k: v for k, v in targets.items() if v},
            csv_path,
            protocol=protocol,
            rate_hz=rate,
            speedup=speedup,
            duration_s=duration or None,
            seed=seed,
            gap_every_s=gap_every or None,
        )
        if not cameras_to:
            return await fleet, 0
        cameras = run_plates(cameras_to, every_s=plate_every, duration_s=duration or None)
        sent, reads = await asyncio.gather(fleet, cameras)
        return sent, reads

    try:
        sent, reads = asyncio.run(both())
        typer.echo(f"sent {sent} fixes" + (f", {reads} plate reads" if cameras_to else ""))
    except (KeyboardInterrupt, ValueError) as exc:
        if isinstance(exc, ValueError):
            fail(str(exc))


ingest_app = typer.Typer(help="Read devices that we connect to (serial GPS).", no_args_is_help=True)


@ingest_app.command("serial")
def ingest_serial(
    url: str = typer.Argument(..., help="/dev/ttyUSB0, socket://HOST:PORT, rfc2217://…, loop://"),
    device: str = typer.Option(..., "--device", help="Device uid the fixes belong to."),
    baud: int = typer.Option(9600, "--baud", min=300, max=921600, help="Baud rate."),
    no_checksum_ok: bool = typer.Option(
        False, "--accept-missing-checksum", help="For receivers that omit NMEA checksums."
    ),
) -> None:
    """Read NMEA 0183 from a serial GPS (reconnects when the port vanishes)."""
    from sensors.serial_ingest import run_serial

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(
            run_serial(settings(), url, device, baud=baud, require_checksum=not no_checksum_ok)
        )
    except GeomonError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


def replay(
    file: str = typer.Argument(..., help="Capture (NMEA log)."),
    to: str = typer.Option(..., "--to", help="tcp://HOST:PORT of an NMEA listener."),
    speed: float = typer.Option(
        1.0, "--speed", min=0, help="1 = real time, 10 = ten times faster, 0 = as fast as possible."
    ),
    device: str = typer.Option("", "--device", help="Prefix each line with this device id."),
) -> None:
    """Replay a capture to a listener at real or accelerated speed."""
    from sensors.replay import replay as run_replay

    if not Path(file).is_file():
        fail(f"capture not found: {file}")
    host, _, port = to.removeprefix("tcp://").rpartition(":")
    if not host or not port.isdigit():
        fail(f"--to must be tcp://HOST:PORT, not {to!r}")
    sent = asyncio.run(run_replay(Path(file), host, int(port), speed=speed, prefix=device))
    typer.echo(f"replayed {sent} lines")


def register(app: typer.Typer) -> None:
    """Entry point: add the ingest commands to the main CLI."""
    app.command("listen")(listen)
    app.command("simulate")(simulate)
    app.command("replay")(replay)
    app.add_typer(ingest_app, name="ingest")
    try:
        decode = importlib.import_module("sensors.cli_decode")
    except ModuleNotFoundError as exc:
        if exc.name != "sensors.cli_decode":
            raise
    else:
        app.add_typer(decode.app, name="decode")
