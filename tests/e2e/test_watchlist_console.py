"""The issue's story on the Russian console, in Debian chromium against a real stack
(``geomon serve`` with its BCP sensor feed): an analyst puts a plate on the watch-list from
the page's session, the camera at Khorgos - Nur Zholy reads it over TCP, and the critical
alarm appears in the events panel — in Russian, naming the plate, at the post — within a
second of the read being sent (the median of three reads)."""

from __future__ import annotations

import json
import socket
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from geomon.store.devices import add_device, bind_device
from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import (
    Browser,
    Stack,
    browser_page,
    free_ports,
    login_cookie_for,
    open_map,
    running_stack,
)

pytestmark = pytest.mark.browser
AGENCY = "KAZ-BS"
CAMERA = "KZ-NZH-ANPR-E2E"
COUNT_JS = """p => [...document.querySelectorAll('#gm-events-list li.gm-critical')]
  .filter(li => li.textContent.includes(p)).length"""


@pytest.fixture(scope="module")
def wl_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_wl_console")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 1, silent=0, agency=AGENCY)
        with psycopg.connect(url) as conn:
            add_device(conn, uid=CAMERA, kind="sensor", agency=AGENCY)
            bind_device(conn, CAMERA, place="Nur Zholy")
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def wl_stack(wl_db: str) -> Iterator[tuple[Stack, int]]:
    (port,) = free_ports(1)
    with running_stack(wl_db, env={"GEOMON_INGEST__SENSOR_TCP": f"127.0.0.1:{port}"}) as s:
        yield s, port


@pytest.fixture(scope="module")
def ru_page(wl_db: str, wl_stack: tuple[Stack, int]) -> Iterator[Browser]:
    stack, _ = wl_stack
    cookie = login_cookie_for(wl_db, stack.base_url, AGENCY)
    with browser_page(stack.base_url, cookie, locale="ru-RU", timezone_id="UTC") as b:
        open_map(b, stack.base_url)
        yield b


def _send_read(port: int, plate: str) -> float:
    doc = {"sensor": CAMERA, "time": datetime.now(UTC).isoformat(), "kind": "plate_read",
           "value": 0.97, "text": plate, "attributes": {"lane": 2, "direction": "in"}}  # fmt: skip
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sent = time.monotonic()
        sock.sendall((json.dumps(doc) + "\n").encode())
    return sent


def test_watchlisted_plate_alarms_on_the_russian_console(
    ru_page: Browser, wl_stack: tuple[Stack, int], output_dir: Path
) -> None:
    page, (_, port) = ru_page.page, wl_stack
    plate = f"777{uuid.uuid4().hex[:3].upper()}02"
    status = page.evaluate(
        """p => fetch('/api/v1/watchlists', {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({plate: p, reason: 'контрабанда', priority: 'high'})})
        .then(r => r.status)""",
        plate,
    )
    assert status == 201
    page.wait_for_timeout(500)  # the live stream is connected and idle
    lags = []
    for _ in range(3):  # the median of three: the 2 shared cores are busy with other work
        before = page.evaluate(COUNT_JS, plate)
        sent = _send_read(port, plate[:3] + " " + plate[3:6] + " " + plate[6:])
        page.wait_for_function(
            f"p => ({COUNT_JS})(p) > {before}", arg=plate, timeout=10000, polling=20
        )
        lags.append(time.monotonic() - sent)
        time.sleep(0.3)  # distinct read times: three reads, three alarms
    lag = statistics.median(lags)
    row = page.evaluate(
        """p => { const li = [...document.querySelectorAll('#gm-events-list li')]
        .find(li => li.textContent.includes(p));
        const e = geomon.events[li.id.replace('gm-event-', '')];
        return [li.textContent, e.lat, e.lon, geomon.liveMode]; }""",
        plate,
    )
    page.screenshot(path=str(output_dir / "watchlist_hit_ru.png"))
    text, lat, lon, mode = row
    shown = ", ".join(f"{x * 1000:.0f}" for x in lags)
    print(f"watch-list alarm on the console {shown} ms after the read was sent ({mode})")
    assert f"номер из списка наблюдения · {plate}" in text, text
    assert (round(lat, 4), round(lon, 4)) == (44.2234, 80.3852)  # at Nur Zholy
    assert lag < 1.0, lag
    assert ru_page.errors == [] and ru_page.foreign == []
