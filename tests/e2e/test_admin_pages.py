"""The admin pages in Debian chromium against a real stack (server + NMEA listener), in
Russian and in English: an admin creates a user (the one-time password shown once logs in),
registers a device (the ingest token shown once verifies against the stored argon2 hash),
draws a restricted zone on the map with the mouse and sets its entry rule to critical; then
fixes of that device sent through the real NMEA listener into the zone raise a critical "zone
entered" event that appears in the events panel — the second language's run draws its zone
seconds after the first one's fixes, while the event process still has its context cached.
Every change is in the audit log."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e.map_stack import Stack, browser_page, nmea_fix, running_stack
from tests.helpers.auth import login_cookie, make_user

pytestmark = pytest.mark.browser
AGENCY = "KGZ-BS"
LAT, LON = 39.52, 72.80  # Alai valley: no reference zone, border or crossing point near
D = 0.01  # half the zone's side, degrees
# What the page says, per language (the catalogue's Russian; English is the msgid itself).
TEXT = {
    "ru": {
        "admin": "Администрирование",
        "once": "Показывается один раз",
        "saved": "Зона «{zone}» сохранена",
        "entered": "вход в зону",
    },
    "en": {
        "admin": "Administration",
        "once": "Shown once",
        "saved": "Zone {zone} saved",
        "entered": "zone entered",
    },
}
# Each language's team and zone in its own place, a tenth of a degree apart.
PLACE = {"ru": (LAT, LON), "en": (LAT, LON + 0.1)}


@pytest.fixture(scope="module")
def admin_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_admin")
    try:
        prepare_database(url)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def admin_stack(admin_db: str) -> Iterator[Stack]:
    with running_stack(admin_db) as s:
        yield s


def _send(address: tuple[str, int], uid: str, points: list[tuple[float, float]]) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=len(points) * 10)
    with socket.create_connection(address, timeout=5) as sock:
        for i, (lat, lon) in enumerate(points):
            sock.sendall(nmea_fix(uid, t0 + timedelta(seconds=10 * i), lat, lon, 3.0, 90.0))
        time.sleep(0.5)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_admin_sets_up_a_team_and_its_zone(
    lang: str, admin_db: str, admin_stack: Stack, output_dir: Path
) -> None:
    url, base, text = admin_db, admin_stack.base_url, TEXT[lang]
    lat, lon = PLACE[lang]
    officer, team, zone = f"duty-officer-{lang}", f"ALAI-TEAM-{lang.upper()}", f"Alai {lang}"
    name, password, _ = make_user(url, role="admin", agency=AGENCY)
    cookie = login_cookie(base, name, password)
    locale = {"ru": "ru-RU", "en": "en-US"}[lang]
    with browser_page(base, cookie, locale=locale, timezone_id="UTC") as b:
        page = b.page
        page.goto(base + "/map")
        page.wait_for_function("window.geomon && geomon.ready")
        page.wait_for_selector("#gm-admin", state="visible")
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.inner_text("#gm-admin-head") == text["admin"]
        page.click("#gm-admin-head")

        # a user, with a one-time password shown once
        page.fill("#gm-user-name", officer)
        page.select_option("#gm-user-role", "analyst")
        page.fill("#gm-user-agency", AGENCY)
        page.click("#gm-user-create")
        page.wait_for_selector("#gm-admin-secret-value")
        one_time = page.inner_text("#gm-admin-secret-value")
        assert text["once"] in page.inner_text("#gm-admin-secret")
        page.wait_for_function(
            "name => [...document.querySelectorAll('#gm-user-list b')].some(e => "
            "e.textContent === name)",
            arg=officer,
        )
        r = httpx.post(
            base + "/auth/login",
            data={"username": officer, "password": one_time},
            follow_redirects=False,
        )
        assert r.status_code in (200, 303) and "geomon_session" in r.cookies

        # a device, with an ingest token shown once
        page.click("#gm-admin-tab-devices")
        page.fill("#gm-dev-uid", team)
        page.fill("#gm-dev-name", f"Alai team {lang}")
        page.click("#gm-dev-create")
        page.wait_for_function(
            "uid => document.getElementById('gm-admin-secret').innerText.includes(uid)", arg=team
        )
        token = page.inner_text("#gm-admin-secret-value")
        with psycopg.connect(url) as conn:
            stored = conn.execute(
                "SELECT token_hash FROM devices WHERE uid = %s", (team,)
            ).fetchone()[0]
        assert PasswordHasher().verify(stored, token)

        # a restricted zone drawn with the mouse, critical on entry
        page.click("#gm-admin-tab-zones")
        page.evaluate(f"geomonMap.setView([{lat}, {lon}], 13, {{animate: false}})")
        page.fill("#gm-zone-name", zone)
        page.select_option("#gm-zone-kind", "restricted")
        page.select_option("#gm-zone-enter", "critical")
        page.click("#gm-zone-draw")
        corners = [(lat - D, lon - D), (lat - D, lon + D), (lat + D, lon + D), (lat + D, lon - D)]
        box = page.locator(".folium-map").first.bounding_box()
        assert box is not None
        pts = [
            page.evaluate(f"(p => [p.x, p.y])(geomonMap.latLngToContainerPoint([{la}, {lo}]))")
            for la, lo in corners
        ]
        for x, y in [*pts, pts[0]]:  # the first corner again closes the polygon
            page.mouse.click(box["x"] + x, box["y"] + y)
            page.wait_for_timeout(150)
        page.wait_for_function("geomon.admin.drawn !== null")
        page.click("#gm-zone-save")
        page.wait_for_selector(f"#gm-zone-list li b:text('{zone}')")
        assert text["saved"].format(zone=zone) in page.inner_text("#gm-zone-status")
        with psycopg.connect(url) as conn:
            kind, rules, inside, area = conn.execute(
                "SELECT kind, attrs->'rules', ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), "
                "4326)), ST_Area(geom) FROM zones WHERE name = %s",
                (lon, lat, zone),
            ).fetchone()
        assert (kind, rules, inside) == ("restricted", {"enter": "critical"}, True)
        assert abs(area - (2 * D) ** 2) / (2 * D) ** 2 < 0.1  # the drawn square, within 10 %
        page.screenshot(path=str(output_dir / f"admin_zone_{lang}.png"))

        # the new team drives into the zone through the real listener → a critical event
        path = [(lat, lon - 0.05 + 0.005 * i) for i in range(12)]  # west to east, into it
        _send(admin_stack.nmea, team, path)
        page.wait_for_function(
            "([what, who]) => [...document.querySelectorAll('#gm-events-list li.gm-critical')]"
            ".some(li => li.innerText.includes(what) && li.innerText.includes(who))",
            arg=[text["entered"], f"Alai team {lang}"],
            timeout=60000,
        )
        page.screenshot(path=str(output_dir / f"admin_zone_event_{lang}.png"))
        assert b.errors == [] and b.foreign == []
    with psycopg.connect(url) as conn:
        routes = {
            (m, r, s)
            for m, r, s in conn.execute(
                "SELECT method, route, status FROM audit_log WHERE username = %s", (name,)
            ).fetchall()
        }
    assert {
        ("POST", "/api/v1/admin/users", 201),
        ("POST", "/api/v1/admin/devices", 201),
        ("POST", "/api/v1/zones", 201),
    } <= routes
