"""A real geomon server (API + NMEA listener child process) on free loopback ports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import ROOT, free_port
from tests.helpers.auth import make_user


@dataclass(frozen=True)
class Server:
    base_url: str
    nmea: tuple[str, int]
    auth: dict[str, str] = field(default_factory=dict)  # a KGZ-BS viewer's bearer token


@pytest.fixture(scope="module")
def server(db_url: str, output_dir) -> Iterator[Server]:
    api_port, nmea_port = free_port(), free_port()
    env = dict(
        os.environ,
        GEOMON_DB__URL=db_url,
        GEOMON_API__PORT=str(api_port),
        GEOMON_INGEST__NMEA_TCP=f"127.0.0.1:{nmea_port}",
        GEOMON_INGEST__BATCH_MAX_MS="20",
        GEOMON_API__ASSETS_DIR=str(ROOT / "node_modules"),
        GEOMON_REFERENCE_DIR=str(ROOT / "data" / "reference"),
    )
    log = (output_dir / f"server-{api_port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomon.cli", "serve"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        _wait_until_up(base, nmea_port, proc)
        token = make_user(db_url, role="viewer", agency="KGZ-BS")[2]
        yield Server(base, ("127.0.0.1", nmea_port), {"Authorization": f"Bearer {token}"})
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_until_up(base: str, nmea_port: int, proc: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 90  # a loaded 2-core CI machine: imports are slow
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"geomon serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                with socket.create_connection(("127.0.0.1", nmea_port), timeout=1):
                    return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError("geomon serve did not come up within 90 s")
