"""The situation map in a real browser (Debian chromium via Playwright) against a real stack:
PostGIS, ``geomon serve`` with its NMEA TCP listener, a logged-in analyst. Assertions read
Leaflet's state (markers by device id); each test saves a screenshot under test-output/."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pyproj
import pytest

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import (
    Browser,
    Stack,
    browser_page,
    login_cookie_for,
    nmea_fix,
    open_map,
    running_stack,
)

pytestmark = pytest.mark.browser
AGENCY = map_seed.AGENCY_CODES[0]  # the test user's agency (row-level security)
N_TEAMS = 16  # team 15 (of the test agency, like 0, 5, 10) is silent


@pytest.fixture(scope="module")
def map_db(pg_base_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    url = create_database(pg_base_url, "geomon_map")
    try:
        prepare_database(url)
        ids = map_seed.seed_teams(url, N_TEAMS, silent=1)
        map_seed.seed_layers(url, incidents=2000, agency=AGENCY)
        yield url, ids
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def stack(map_db: tuple[str, dict[str, int]]) -> Iterator[Stack]:
    # Until the live SSE stream answers, the page polls: twice a second keeps the 2 s bound
    # of the ingest test clear of a loaded machine's commit latency.
    with running_stack(map_db[0], env={"GEOMON_API__LIVE_POLL_MS": "500"}) as s:
        yield s


@pytest.fixture(scope="module")
def browser(map_db: tuple[str, dict[str, int]], stack: Stack) -> Iterator[Browser]:
    cookie = login_cookie_for(map_db[0], stack.base_url, AGENCY)
    with browser_page(stack.base_url, cookie) as b:
        b.load_s = open_map(b, stack.base_url)  # type: ignore[attr-defined]
        yield b


def visible_ids(db_url: str, ids: dict[str, int]) -> dict[str, int]:
    """The seeded teams of the test user's agency (what RLS lets the page show)."""
    with psycopg.connect(db_url) as conn:
        mine = {
            r[0]
            for r in conn.execute(
                "SELECT d.uid FROM devices d JOIN agencies a ON a.id = d.agency_id"
                " WHERE a.code = %s",
                (AGENCY,),
            )
        }
    return {uid: i for uid, i in ids.items() if uid in mine}


def shot(b: Browser, output_dir: Path, name: str) -> None:
    b.page.screenshot(path=str(output_dir / f"map_{name}.png"))


def test_page_loads_without_errors_or_foreign_requests(browser: Browser, output_dir: Path) -> None:
    time.sleep(1.5)  # a couple of live refreshes and the first events poll
    shot(browser, output_dir, "loaded")
    assert browser.errors == []
    assert browser.foreign == []
    assert browser.page.evaluate("typeof L.markerClusterGroup") == "function"
    assert browser.page.evaluate(
        "document.querySelector('.leaflet-control-zoom-fullscreen') !== null"
    )


def test_markers_appear_for_seeded_devices(
    browser: Browser, map_db: tuple, output_dir: Path
) -> None:
    db_url, ids = map_db
    mine = visible_ids(db_url, ids)
    shown = set(browser.page.evaluate("Object.keys(geomon.teamLayers)"))
    assert {str(i) for i in mine.values()} <= shown
    assert shown <= {str(i) for i in ids.values()}
    if len(mine) < len(ids):  # another agency's teams stay hidden
        assert len(shown) == len(mine)
    silent_uid = map_seed.team_uid(N_TEAMS - 1)
    states = browser.page.evaluate(
        "Object.fromEntries(Object.entries(geomon.teamLayers).map(([k, m]) => [k, m._gmSilent]))"
    )
    for uid, device_id in mine.items():
        assert states[str(device_id)] is (uid == silent_uid), uid
    shot(browser, output_dir, "markers")


def test_fix_through_nmea_listener_moves_marker_and_popup(
    browser: Browser, map_db: tuple, stack: Stack, output_dir: Path
) -> None:
    uid = map_seed.team_uid(0)
    device_id = map_db[1][uid]
    lat, lon = 40.123456, 70.654321
    js_pos = f"geomon.teamLayers['{device_id}'].getLatLng()"
    before = browser.page.evaluate(js_pos)
    assert abs(before["lat"] - lat) > 0.01
    t0 = time.perf_counter()
    with socket.create_connection(stack.nmea, timeout=5) as s:
        s.sendall(nmea_fix(uid, datetime.now(UTC).replace(microsecond=0), lat, lon, 25.0, 123.0))
        browser.page.wait_for_function(
            f"Math.abs({js_pos}.lat - {lat}) < 1e-4 && Math.abs({js_pos}.lng - {lon}) < 1e-4",
            timeout=2000,
        )
    moved_s = time.perf_counter() - t0
    popup = browser.page.evaluate(f"geomon.teamLayers['{device_id}'].getPopup().getContent()")
    assert "90 km/h" in popup and "course 123°" in popup  # 25 m/s, from this fix
    svg = browser.page.evaluate(
        f"geomon.teamLayers['{device_id}'].getElement().firstChild.style.transform"
    )
    assert svg == "rotate(123deg)"
    mode = browser.page.evaluate("geomon.liveMode")
    print(f"marker moved {moved_s:.2f} s after the fix was sent (live mode: {mode})")
    shot(browser, output_dir, "moved")


def test_alarm_event_appears_in_panel_and_can_be_acknowledged(
    browser: Browser, map_db: tuple, output_dir: Path
) -> None:
    db_url, ids = map_db
    event_id = map_seed.insert_event(
        db_url,
        ids[map_seed.team_uid(0)],
        kind="sensor_alarm",
        severity="critical",
        lat=40.2,
        lon=70.6,
    )
    item = browser.page.wait_for_selector(f"#gm-event-{event_id}", timeout=5000)
    assert "sensor alarm" in item.inner_text()
    assert browser.page.evaluate("geomon.beeps") >= 1
    assert browser.page.is_visible("#gm-alarm")
    shot(browser, output_dir, "event")
    item.query_selector("button").click()
    browser.page.wait_for_selector(f"#gm-event-{event_id}.gm-acked", timeout=5000)
    time.sleep(0.3)
    with psycopg.connect(db_url) as conn:
        state = conn.execute("SELECT state FROM events WHERE id = %s", (event_id,)).fetchone()
    assert state == ("acknowledged",)


def _overlay(browser: Browser, label: str) -> str:
    return (
        f"[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        f".find(l => l.textContent.trim().startsWith('{label}')).querySelector('input')"
    )


def test_layers_toggle_and_hotspots_use_arcgis_colours(browser: Browser, output_dir: Path) -> None:
    page = browser.page
    count_borders = "document.querySelectorAll('path[stroke=\"#b2182b\"]').length"
    assert page.evaluate(count_borders) > 0
    page.evaluate(f"{_overlay(browser, 'Borders')}.click()")
    assert page.evaluate(count_borders) == 0
    page.evaluate(f"{_overlay(browser, 'Borders')}.click()")
    assert page.evaluate(count_borders) > 0
    fills_js = (
        "[...document.querySelectorAll('path.leaflet-interactive')]"
        ".map(p => p.getAttribute('fill'))"
    )
    fills = page.evaluate(fills_js)
    arcgis = {"#4575b5", "#849eba", "#c0ccbe", "#d9d9d9", "#fab984", "#ed7551", "#d62f27"}
    assert arcgis <= set(fills)
    page.evaluate(f"{_overlay(browser, 'Hotspots')}.click()")
    fills_off = page.evaluate(fills_js)
    assert not arcgis & (set(fills_off) - {"#d9d9d9"})
    page.evaluate(f"{_overlay(browser, 'Hotspots')}.click()")
    shot(browser, output_dir, "layers")


def test_replay_moves_the_replay_marker(browser: Browser, map_db: tuple, output_dir: Path) -> None:
    page = browser.page
    device_id = map_db[1][map_seed.team_uid(5)]
    page.evaluate("geomon.fillReplayDevices()")
    page.select_option("#gm-replay-device", str(device_id))
    page.select_option("#gm-replay-window", "86400")
    page.click("#gm-replay-load")
    page.wait_for_function("geomon.replay.marker && geomon.replay.fixes.length >= 20", timeout=5000)
    first = page.evaluate("geomon.replay.fixes[0]")
    start = page.evaluate("geomon.replay.marker.getLatLng()")
    assert start == pytest.approx({"lat": first[1], "lng": first[2]})
    page.select_option("#gm-replay-speed", "300")
    page.click("#gm-replay-play")
    page.wait_for_timeout(1200)
    moved = page.evaluate("geomon.replay.marker.getLatLng()")
    assert moved != start
    page.fill("#gm-replay-slider", "1000")
    page.dispatch_event("#gm-replay-slider", "input")
    last = page.evaluate("geomon.replay.fixes[geomon.replay.fixes.length - 1]")
    end = page.evaluate("geomon.replay.marker.getLatLng()")
    assert end == pytest.approx({"lat": last[1], "lng": last[2]})
    shot(browser, output_dir, "replay")


def test_search_finds_a_place_by_alternative_name(browser: Browser, output_dir: Path) -> None:
    place = next(p for p in map_seed.PLACES if p.alt_names)
    page = browser.page
    page.fill("#gm-search-input", place.alt_names[0][:6])
    page.wait_for_selector("#gm-search-results li", timeout=2000)
    page.click(f"#gm-search-results li:has-text('{place.name}')")
    centre = page.evaluate("geomonMap.getCenter()")
    assert centre == pytest.approx({"lat": place.lat, "lng": place.lon}, abs=1e-3)
    assert page.evaluate("document.querySelector('.leaflet-popup-content') !== null")
    shot(browser, output_dir, "search")


def test_measure_tool_reports_great_circle_distance(browser: Browser) -> None:
    page = browser.page
    page.click("#gm-measure")
    box = page.query_selector("#" + page.evaluate("geomonMap.getContainer().id")).bounding_box()
    for x, y in ((500, 300), (800, 420), (900, 300)):
        page.mouse.click(box["x"] + x, box["y"] + y)
    page.click("#gm-measure")
    pts = page.evaluate("geomon.measureLine.getLatLngs().map(p => [p.lat, p.lng])")
    assert len(pts) == 3
    # independent reference: pyproj's geodesic on Leaflet's sphere (R = 6378137 m)
    geod = pyproj.Geod(a=6378137.0, b=6378137.0)
    expected = sum(geod.inv(a[1], a[0], b[1], b[0])[2] for a, b in zip(pts, pts[1:], strict=False))
    assert page.evaluate("geomon.measuredM") == pytest.approx(expected, rel=1e-6)
    assert expected > 500


def test_crossing_point_popup_shows_latest_sensor_observations(
    browser: Browser, map_db: tuple, output_dir: Path
) -> None:
    place = next(p for p in map_seed.PLACES if p.kind == "road_bcp")
    map_seed.insert_observation(map_db[0], place.name, agency=AGENCY, value=23.0)
    page = browser.page
    page.fill("#gm-search-input", place.name)
    page.click(f"#gm-search-results li:has-text('{place.name}')")
    page.wait_for_selector(".leaflet-popup-content .gm-obs table", timeout=5000)
    text = page.inner_text(".leaflet-popup-content .gm-obs")
    assert "vehicle_count" in text and "23" in text and f"Lane counter {place.name}" in text
    shot(browser, output_dir, "post_observations")


def test_patrol_coverage_overlay_shows_covered_and_uncovered_risk(
    browser: Browser, map_db: tuple, output_dir: Path, tmp_path: Path
) -> None:
    """A real KDE run of the seeded incidents (the CLI, stored for the test agency) is the
    risk surface; the overlay asks /api/v1/coverage for today and draws its cells."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GEOMON_DB__URL": map_db[0], "GEOMON_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "geomon.cli",
            "hotspots",
            "run",
            "kde",
            "--bbox",
            "60,35,80,46",
            "--cell-size",
            "5000",
            "--owner",
            AGENCY,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    page = browser.page
    page.evaluate(f"{_overlay(browser, 'Patrol coverage')}.click()")
    page.wait_for_function(
        "() => geomon.coverageLayer && geomon.coverageLayer.geomonLoaded", timeout=60_000
    )
    status = page.evaluate("() => geomon.coverageLayer.geomonStatus")
    assert status.startswith("High-risk ground covered today:")
    fills = set(
        page.evaluate(
            "[...document.querySelectorAll('path.leaflet-interactive')]"
            ".map(p => p.getAttribute('fill'))"
        )
    )
    assert "#d73027" in fills  # uncovered high-risk cells are drawn
    shot(browser, output_dir, "coverage")
    page.evaluate(f"{_overlay(browser, 'Patrol coverage')}.click()")
