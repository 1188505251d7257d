"""Run a real ``geomon listen`` process for end-to-end ingest tests, and talk Teltonika to it."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Listener:
    proc: subprocess.Popen[bytes]
    addresses: dict[str, str]
    log_path: Path

    def hostport(self, name: str) -> tuple[str, int]:
        host, _, port = self.addresses[name].rpartition(":")
        return host, int(port)

    def metric(self, name: str) -> float:
        """A counter from the listener's /metrics (sum over labels; 0 when absent)."""
        host, port = self.hostport("metrics")
        text = httpx.get(f"http://{host}:{port}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if re.match(rf"geomon_{name}_total(\{{|\s)", line):
                total += float(line.rsplit(" ", 1)[1])
        return total


@contextlib.contextmanager
def run_listener(
    db_url: str,
    args: list[str],
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 20,
) -> Iterator[Listener]:
    """Start ``geomon listen ARGS --metrics 127.0.0.1:0``; yields once it printed its ports."""
    log_path = tmp_path / f"listener-{time.time_ns()}.log"
    full_env = dict(
        os.environ,
        GEOMON_DB__URL=db_url,
        GEOMON_INGEST__BATCH_MAX_MS="10",
        GEOMON_INGEST__SPOOL_DIR=str(tmp_path / "spool"),
        **(env or {}),
    )
    cmd = [sys.executable, "-m", "geomon.cli.__main__", "listen", "--metrics", "127.0.0.1:0", *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=log)
    try:
        yield Listener(proc, _wait_ready(proc, log_path, timeout_s), log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_listener(
    db_url: str,
    args: list[str],
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> Listener:
    """``geomon listen ARGS`` in a session of its own (its workers and event processes
    share its process group), for tests that kill it: see :func:`kill_listener`. The spool
    is ``tmp_path/spool`` on every start, so a restarted listener replays what a killed one
    left there."""
    log_path = tmp_path / f"listener-{time.time_ns()}.log"
    full_env = dict(
        os.environ,
        GEOMON_DB__URL=db_url,
        GEOMON_INGEST__BATCH_MAX_MS="10",
        GEOMON_INGEST__SPOOL_DIR=str(tmp_path / "spool"),
        **(env or {}),
    )
    cmd = [sys.executable, "-m", "geomon.cli.__main__", "listen", "--metrics", "127.0.0.1:0", *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=log, start_new_session=True
        )
    try:
        return Listener(proc, _wait_ready(proc, log_path, timeout_s), log_path)
    except BaseException:
        kill_listener(proc)
        raise


def kill_listener(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a :func:`start_listener` process group and wait until every process
    of it is gone (its ports are free again)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    proc.wait(30)
    deadline = time.monotonic() + 30
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _wait_ready(proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> dict[str, str]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline().decode()
            if line.startswith("geomon listen:"):
                return dict(kv.split("=", 1) for kv in line.split(":", 1)[1].split())
        if proc.poll() is not None:
            break
    raise RuntimeError(f"listener did not start:\n{log_path.read_text()[-3000:]}")


class TeltonikaClient:
    """A blocking Teltonika device: handshake, send packets, read 4-byte acks."""

    def __init__(self, address: tuple[str, int], imei: str, *, timeout_s: float = 10) -> None:
        self.sock = socket.create_connection(address, timeout=timeout_s)
        self.imei = imei

    def handshake(self) -> bytes:
        from sensors.protocols.teltonika_encode import imei_frame

        self.sock.sendall(imei_frame(self.imei))
        return self.sock.recv(1)

    def ack(self, timeout_s: float = 10) -> int | None:
        """The next ack's record count, or None when nothing came within ``timeout_s``."""
        self.sock.settimeout(timeout_s)
        data = b""
        try:
            while len(data) < 4:
                chunk = self.sock.recv(4 - len(data))
                if not chunk:
                    return None
                data += chunk
        except TimeoutError:
            return None
        return int.from_bytes(data, "big")

    def is_open(self) -> bool:
        self.sock.settimeout(0.2)
        try:
            return self.sock.recv(1, socket.MSG_PEEK) != b""
        except TimeoutError:
            return True
        except OSError:
            return False

    def close(self) -> None:
        self.sock.close()
