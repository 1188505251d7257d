"""``geomon serve --workers 2`` (api/workers.py): each worker listens on its own SO_REUSEPORT
socket of the same port, so the kernel spreads connections over them (a shared socket gave
one worker nearly every connection of a burst), and both answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> list[str]:
    """Inodes of the sockets listening on 127.0.0.1:``port``."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return [r[9] for r in rows if r[1] == f"0100007F:{port:04X}" and r[3] == "0A"]


def _owner_pids(inodes: list[str]) -> set[int]:
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds}
        except OSError:
            continue
        if any(f"socket:[{i}]" in links for i in inodes):
            pids.add(int(pid))
    return pids


def test_two_workers_listen_on_their_own_sockets(db_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "GEOMON_DB__URL": db_url, "GEOMON_DB__POOL_MIN": "1"}
    code = f"from api.workers import run_workers; run_workers('127.0.0.1', {port}, 2)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(_listening(port)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        inodes = _listening(port)
        assert len(inodes) == 2  # one socket per worker, not one shared
        assert len(_owner_pids(inodes)) == 2  # held by two processes
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert client.get("/health").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert _listening(port) == []  # SIGTERM stopped every worker


def test_a_port_in_use_is_refused_not_shared(db_url: str) -> None:
    from api.workers import listening_socket

    with listening_socket("127.0.0.1", _free_port()) as other:  # another server, reuseport too
        port = other.getsockname()[1]
        code = f"from api.workers import run_workers; run_workers('127.0.0.1', {port}, 2)"
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            timeout=60,
            env={**os.environ, "GEOMON_DB__URL": db_url},
            capture_output=True,
            text=True,
            check=False,
        )
    assert proc.returncode != 0 and "Address already in use" in proc.stderr
