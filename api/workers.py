"""``geomon serve --workers N``: N uvicorn processes, each with its OWN listening socket on the
same port (SO_REUSEPORT), so the kernel spreads new connections over them.

uvicorn's own ``workers=N`` shares one listening socket, and whichever worker wakes first
accepts the whole burst: under bench/api.py's keep-alive clients nearly all connections
ended up on one worker (figures in docs/performance.md), so a second worker added nothing.
With one socket per worker the kernel hashes each connection to one of them. Like the
ingest listeners (docs/ingest.md), this needs a fixed port (not 0). A worker that exits is
started again; SIGINT/SIGTERM stop them all.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
from types import FrameType

APP = "api.app:app_factory"  # each worker builds the app from the environment


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket with SO_REUSEPORT (one per worker, same host and port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, log_level: str, header_timeout_s: float) -> None:
    import uvicorn

    import api.app  # noqa: F401 - the slow imports first: the kernel routes connections to
    from geomon.http_server import head_timeout_protocol

    # a socket as soon as it listens, so bind only when the app is about to serve
    sock = listening_socket(host, port)
    config = uvicorn.Config(
        APP,
        factory=True,
        log_level=log_level,
        access_log=False,
        http=head_timeout_protocol(header_timeout_s),
    )
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(
    host: str,
    port: int,
    workers: int,
    *,
    log_level: str = "info",
    header_timeout_s: float = 10.0,
) -> None:
    """Run ``workers`` API processes on ``host:port`` until SIGINT/SIGTERM."""
    if port == 0:
        raise ValueError("--workers > 1 needs a fixed port (each worker binds it)")
    # a port in use fails here, once, loudly: this probe has no SO_REUSEPORT, so it cannot
    # join the sockets of another geomon serve already running on the port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        proc = ctx.Process(
            target=_worker, args=(host, port, log_level, header_timeout_s), name="geomon-api"
        )
        proc.start()
        return proc

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    procs = [start() for _ in range(workers)]
    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            time.sleep(0.5)
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stopping:
                    procs[i] = start()
    finally:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.join(10)
        for sig, handler in old.items():
            signal.signal(sig, handler)
