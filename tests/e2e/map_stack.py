"""A real map stack for browser tests and the latency bench: ``geomon serve`` (API + map +
NMEA TCP listener child) on loopback ports, a logged-in headless Debian chromium that refuses
every request to another origin, and NMEA fixes sent over TCP like a tracker would."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from sensors.protocols.nmea_encode import gga, rmc

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (sockets held open until all are chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Stack:
    base_url: str
    nmea: tuple[str, int]
    proc: subprocess.Popen


@contextlib.contextmanager
def running_stack(db_url: str, *, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """``geomon serve`` with its NMEA listener; the process group is killed on exit."""
    http_port, nmea_port = free_ports(2)
    full_env = {
        **os.environ,
        "GEOMON_DB__URL": db_url,
        "GEOMON_API__PORT": str(http_port),
        "GEOMON_INGEST__NMEA_TCP": f"127.0.0.1:{nmea_port}",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomon.cli.__main__", "serve"],
        cwd=ROOT,
        env=full_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack = Stack(f"http://127.0.0.1:{http_port}", ("127.0.0.1", nmea_port), proc)
    try:
        _wait_ready(stack)
        yield stack
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _wait_ready(stack: Stack, timeout_s: float = 40.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            raise RuntimeError("geomon serve exited early")
        with contextlib.suppress(httpx.HTTPError, OSError):
            if httpx.get(stack.base_url + "/health", timeout=2).status_code == 200:
                with socket.create_connection(stack.nmea, timeout=2):
                    return
        time.sleep(0.3)
    raise RuntimeError("geomon serve did not become ready")


def nmea_fix(
    uid: str, t: datetime, lat: float, lon: float, speed_mps: float, course_deg: float
) -> bytes:
    """One epoch (RMC + GGA) with the device id prefix the NMEA TCP adapter expects."""
    lines = (rmc(t, lat, lon, speed_mps, course_deg), gga(t, lat, lon, 500.0))
    return "".join(f"{uid},{s}\r\n" for s in lines).encode()


@dataclass
class Browser:
    """A logged-in page; ``foreign`` collects refused requests, ``errors`` console errors."""

    page: Any
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def login_cookie_for(db_url: str, base_url: str, agency: str) -> str | None:
    """A session cookie for a new analyst of ``agency`` (None when the app has no auth)."""
    try:
        from tests.helpers.auth import login_cookie, make_user
    except ImportError:  # pragma: no cover - before the auth contract landed
        return None
    user, password, _ = make_user(db_url, role="analyst", agency=agency)
    return login_cookie(base_url, user, password)


@contextlib.contextmanager
def browser_page(
    base_url: str,
    cookie: str | None,
    viewport: tuple[int, int] = (1400, 850),
    *,
    locale: str = "en-US",
    timezone_id: str = "UTC",
) -> Iterator[Browser]:
    """A page of Debian chromium; ``locale`` sets navigator.language and Accept-Language,
    ``timezone_id`` the browser's own zone (the page must show the user's, not this one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        ctx = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            locale=locale,
            timezone_id=timezone_id,
        )
        if cookie:
            ctx.add_cookies([{"name": "geomon_session", "value": cookie, "url": base_url}])
        out = Browser(ctx.new_page())

        def guard(route: Any) -> None:
            url = route.request.url
            if url.startswith(base_url + "/") or url.startswith("data:"):
                route.continue_()
            else:
                out.foreign.append(url)
                route.abort()

        ctx.route("**/*", guard)
        out.page.on("console", lambda m: out.errors.append(m.text) if m.type == "error" else None)
        out.page.on("pageerror", lambda e: out.errors.append(str(e)))
        try:
            yield out
        finally:
            browser.close()


def open_map(b: Browser, base_url: str, min_teams: int = 1, timeout_ms: int = 15000) -> float:
    """Load /map and wait until the live layer has ``min_teams`` markers. Returns the page's
    own figure: seconds from navigation start until the map was ready with its teams."""
    b.page.goto(base_url + "/map")
    b.page.wait_for_function(
        f"window.geomon && geomon.ready && Object.keys(geomon.teamLayers).length >= {min_teams}",
        timeout=timeout_ms,
    )
    return float(b.page.evaluate("geomon.readyAtMs")) / 1000
