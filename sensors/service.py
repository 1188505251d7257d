"""Wiring ingest adapters to the pipeline: one batch writer, one device registry, and every
listener configured in ``settings.ingest``; runs until cancelled.

HTTP (OsmAnd + BCP POST + ``/metrics``) is served by uvicorn inside this event loop on the
OsmAnd port, and on ``metrics_http`` as well when that is set; request heads slower than
``http_header_timeout_s`` are cut (geomon/http_server.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from geomon.http_server import head_timeout_protocol
from geomon.pipeline.event_process import EventProcess
from geomon.pipeline.eventing import run_silent_checks
from geomon.pipeline.notifier import run_notifier
from geomon.pipeline.plate_checks import run_plate_checks
from geomon.pipeline.sharded import ShardedWriter
from geomon.settings import Settings
from geomon.store.db import require_url
from sensors.adapters.cot_tcp import CotSession
from sensors.adapters.http_app import make_http_app
from sensors.adapters.mqtt import MqttIngest
from sensors.adapters.nmea_tcp import NmeaSession
from sensors.adapters.sensor_tcp import SensorLineSession
from sensors.adapters.teltonika_tcp import TeltonikaSession
from sensors.registry import DeviceRegistry
from sensors.transports.tcp import SessionFactory, parse_hostport, serve_tcp
from sensors.transports.udp import UdpServer, serve_udp

log = logging.getLogger(__name__)


@dataclass
class Listeners:
    """What is running: the writer and each listener's bound address by name."""

    writer: ShardedWriter
    registry: DeviceRegistry
    addresses: dict[str, str] = field(default_factory=dict)
    mqtt: MqttIngest | None = None
    _closers: list[Any] = field(default_factory=list)


def _bound(server: asyncio.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"{host}:{port}"


class _QuietServer(uvicorn.Server):
    """uvicorn without its SIGINT/SIGTERM capture: in the listener process a signal must stop
    the whole process (nothing is acked before commit), not just the HTTP side while the TCP
    listeners keep running."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


async def _start_http(
    app: Any,
    address: str,
    *,
    reuse_port: bool = False,
    header_timeout_s: float = 10.0,
) -> tuple[str, uvicorn.Server, asyncio.Task[None]]:
    host, port = parse_hostport(address)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    server = _QuietServer(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            http=head_timeout_protocol(header_timeout_s),
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    bound = sock.getsockname()
    return f"{bound[0]}:{bound[1]}", server, task


async def _start_tcp(
    listeners: Listeners, settings: Settings, nmea_bind_device: str, worker: int
) -> None:
    ing, submit = settings.ingest, listeners.writer.submit
    factories: dict[str, tuple[str, SessionFactory]] = {
        "nmea": (
            ing.nmea_tcp,
            lambda peer: NmeaSession(peer, submit, bind_device=nmea_bind_device),
        ),
        "teltonika": (
            ing.teltonika_tcp,
            lambda peer: TeltonikaSession(peer, submit, listeners.registry),
        ),
        "sensor-tcp": (
            ing.sensor_tcp,
            lambda peer: SensorLineSession(peer, listeners.writer.submit_observations),
        ),
        "cot": (ing.cot_tcp, lambda peer: CotSession(peer, submit)),
    }
    for name, (address, factory) in factories.items():
        if address:
            server = await serve_tcp(address, factory, reuse_port=ing.workers > 1)
            listeners.addresses[name] = _bound(server)
            listeners._closers.append(server)
    if ing.nmea_udp and worker == 0:
        udp = await serve_udp(
            ing.nmea_udp, lambda peer: NmeaSession(peer, submit, bind_device=nmea_bind_device)
        )
        listeners.addresses["nmea-udp"] = udp.address
        listeners._closers.append(udp)


def _adopt_segments(source: Path, target: Path) -> None:
    """Move sealed spool segments left directly in ``source`` (by a one-process run) into
    ``target``, which a writer of this process replays (idempotent by primary key)."""
    segments = sorted(source.glob("spool-*.log")) if source.is_dir() else []
    if segments:
        target.mkdir(parents=True, exist_ok=True)
        for seg in segments:
            seg.rename(target / seg.name)
        log.info("adopted %d spool segments from %s into %s", len(segments), source, target)


@asynccontextmanager
async def running_listeners(
    settings: Settings, *, nmea_bind_device: str = "", worker: int = 0
) -> AsyncIterator[Listeners]:
    """Start the writer and every listener configured in ``settings.ingest`` (``worker`` > 0:
    an extra process of ``--workers``: shared TCP/HTTP ports only, its own spool folder)."""
    ing = settings.ingest
    if ing.workers > 1:
        root = ing.spool_dir
        ing = settings.ingest = ing.model_copy(update={"spool_dir": ing.spool_dir / f"w{worker}"})
        if worker == 0:  # segments of an earlier single-process run must still be replayed
            _adopt_segments(
                root, ing.spool_dir / "s0" if ing.writer_connections > 1 else ing.spool_dir
            )
    # events after each commit (issue 8), computed in a child process of this listener
    events = EventProcess(require_url(settings.db))
    await events.start()
    writer = ShardedWriter(
        require_url(settings.db), ing, ing.writer_connections, on_committed=events
    )
    await writer.start()
    background = (
        [
            asyncio.create_task(run_silent_checks(settings.db.url), name="silent-check"),
            asyncio.create_task(run_notifier(settings.db.url), name="notifier"),
            asyncio.create_task(
                run_plate_checks(settings.db.url, settings.plates), name="plate-checks"
            ),
        ]
        if worker == 0
        else []
    )
    registry = DeviceRegistry(settings.db.url, accept_unknown=ing.accept_unknown)
    listeners = Listeners(writer, registry)
    try:
        await _start_tcp(listeners, settings, nmea_bind_device, worker)
        app = make_http_app(
            writer.submit,
            writer.submit_observations,
            listeners.registry,
            body_max_bytes=ing.http_body_max_bytes,
            read_timeout_s=ing.http_read_timeout_s,
            healthy=lambda: writer.healthy,
        )
        http = [("osmand", ing.osmand_http)] + (
            [("metrics", ing.metrics_http)] if worker == 0 else []
        )
        for name, address in http:
            if address:
                bound, server, task = await _start_http(
                    app,
                    address,
                    reuse_port=ing.workers > 1,
                    header_timeout_s=ing.http_header_timeout_s,
                )
                listeners.addresses[name] = bound
                listeners._closers.append((server, task))
        if ing.mqtt_url and worker == 0:
            listeners.mqtt = MqttIngest(
                ing.mqtt_url,
                ing.mqtt_client_id,
                writer.submit,
                writer.submit_observations,
                listeners.registry,
                broker_auth=ing.mqtt_broker_auth,
            )
            await listeners.mqtt.start()
            listeners.addresses["mqtt"] = ing.mqtt_url
        for name, address in listeners.addresses.items():
            log.info("listening: %s on %s", name, address)
        yield listeners
    finally:
        await _close(listeners)
        await writer.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await events.close()


async def _close(listeners: Listeners) -> None:
    if listeners.mqtt is not None:
        await listeners.mqtt.stop()
    for closer in listeners._closers:
        if isinstance(closer, asyncio.Server):
            closer.close()
        elif isinstance(closer, UdpServer):
            await closer.close()
        else:
            server, task = closer
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(task, 5)


async def run_forever(settings: Settings, *, nmea_bind_device: str = "", worker: int = 0) -> None:
    async with running_listeners(
        settings, nmea_bind_device=nmea_bind_device, worker=worker
    ) as listeners:
        if worker == 0:
            print(
                "geomon listen: " + " ".join(f"{k}={v}" for k, v in listeners.addresses.items()),
                flush=True,
            )
        await asyncio.Event().wait()
