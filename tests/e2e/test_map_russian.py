"""The situation map in Russian, in a real browser (Debian chromium via Playwright) against a
real stack (PostGIS, ``geomon serve``): the page follows Accept-Language, every visible piece of
the console's own text is Russian, and times in popups are in the user's zone, not the browser's
(the browser here runs in UTC; the user's agency is in Central Asia)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from geomon.i18n.check import extracted_msgids
from geomon.i18n.zones import time_zone_for
from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Browser, Stack, browser_page, login_cookie_for, running_stack

pytestmark = pytest.mark.browser
AGENCY = "KGZ-BS"  # Kyrgyzstan: the page's zone defaults to Asia/Bishkek (UTC+6)
# Latin words allowed in the Russian console's own text: acronyms used as such in Russian.
LATIN_OK = {
    *("geomon", "GPS", "GSM", "GNSS", "SOS", "HTTP", "Gi", "English", "IMEI", "KDE"),
    *("MASE", "GeoPackage"),  # the forecast panel: an error measure and a file format
    *("CSV", "GraphML"),  # the link chart's exports: file formats, named as such
}
# The console's own text (panels, legend, layer control); team names and codes are data.
UI_TEXT_JS = """() => {
  const roots = [...document.querySelectorAll('.gm-panel, .leaflet-control-layers')];
  const out = [];
  for (const root of roots) {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim()
          || el.closest('#gm-replay-device, #gm-events-list, #gm-coords, .gm-data'))
        continue;
      out.push(n.textContent.trim());
    }
    root.querySelectorAll('[title], [placeholder], [aria-label]').forEach(el => {
      ['title', 'placeholder', 'aria-label'].forEach(a => {
        if (el.getAttribute(a)) out.push(el.getAttribute(a));
      });
    });
  }
  return out;
}"""


@pytest.fixture(scope="module")
def ru_db(pg_base_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    url = create_database(pg_base_url, "geomon_map_ru")
    try:
        prepare_database(url)
        ids = map_seed.seed_teams(url, 3, silent=0, agency=AGENCY)
        map_seed.seed_layers(url, incidents=50, agency=AGENCY)
        yield url, ids
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def ru_stack(ru_db: tuple[str, dict[str, int]]) -> Iterator[Stack]:
    with running_stack(ru_db[0]) as s:
        yield s


@pytest.fixture(scope="module")
def ru_browser(ru_db: tuple[str, dict[str, int]], ru_stack: Stack) -> Iterator[Browser]:
    cookie = login_cookie_for(ru_db[0], ru_stack.base_url, AGENCY)
    with browser_page(ru_stack.base_url, cookie, locale="ru-RU", timezone_id="UTC") as b:
        _open(b, ru_stack.base_url)
        yield b


def _open(b: Browser, base_url: str) -> None:
    b.page.goto(base_url + "/map")
    b.page.wait_for_function(
        "window.geomon && geomon.ready && Object.keys(geomon.teamLayers).length >= 1",
        timeout=15000,
    )


def _popup_of_first_team(b: Browser) -> tuple[str, str]:
    """(the popup's text, the team's fix_time as the API sent it: UTC ISO-8601)."""
    return b.page.evaluate(
        """() => { const m = Object.values(geomon.teamLayers)[0];
        m.openPopup(); const el = document.querySelector('.leaflet-popup-content');
        return [el.textContent, m.feature.properties.fix_time]; }"""
    )


def test_russian_page_has_no_untranslated_console_text(ru_browser: Browser, output_dir: Path):
    page = ru_browser.page
    assert page.evaluate("document.documentElement.lang") == "ru"
    assert page.title() == "geomon — ситуационная карта"
    page.evaluate(
        "document.querySelector('.leaflet-control-layers').classList.add("
        "'leaflet-control-layers-expanded')"
    )
    page.evaluate("document.getElementById('gm-legend-body').hidden = false")
    page.screenshot(path=str(output_dir / "map_ru.png"))
    texts = page.evaluate(UI_TEXT_JS)
    assert "События" in texts and "Легенда" in texts
    english = extracted_msgids()
    bad = []
    for text in texts:
        words = set(re.findall(r"[A-Za-z]{2,}", text)) - LATIN_OK
        if words:
            bad.append(text)
    # a Latin word in the console's own text is a string missing from the catalogue
    assert bad == [], f"untranslated in the Russian UI: {bad}"
    assert not [t for t in texts if t in english and t.isascii() and t not in LATIN_OK]
    assert ru_browser.errors == [] and ru_browser.foreign == []


def test_popup_time_is_in_the_users_zone(ru_browser: Browser, ru_db: tuple, ru_stack: Stack):
    page = ru_browser.page
    zone = time_zone_for(None, "KGZ")
    assert zone == "Asia/Bishkek"
    text, fix_time = _popup_of_first_team(ru_browser)
    assert fix_time.endswith(("Z", "+00:00"))  # the API stays UTC
    local = datetime.fromisoformat(fix_time).astimezone(ZoneInfo(zone))
    assert local.strftime("%d.%m.%Y, %H:%M:%S") in text, text
    assert "назад" in text and "скорость" in text and "км/ч" in text, text
    utc = datetime.fromisoformat(fix_time).strftime("%H:%M:%S")
    assert utc not in text  # the browser's own zone (UTC) is not what is shown

    # the user's own setting wins over the agency's default, and the language switch persists
    status = page.evaluate(
        """() => fetch('/api/v1/me/preferences', {method: 'PUT', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({time_zone: 'Asia/Tashkent'})}).then(r => r.status)"""
    )
    assert status == 200
    _open(ru_browser, ru_stack.base_url)
    text, fix_time = _popup_of_first_team(ru_browser)
    local = datetime.fromisoformat(fix_time).astimezone(ZoneInfo("Asia/Tashkent"))
    assert local.strftime("%d.%m.%Y, %H:%M:%S") in text, text
    page.select_option("#gm-lang", "en")
    page.wait_for_function("document.documentElement.lang === 'en' && geomon.ready", timeout=15000)
    assert page.title() == "geomon — situation map"
    with psycopg.connect(ru_db[0]) as conn:
        row = conn.execute(
            "SELECT locale, time_zone FROM users WHERE locale IS NOT NULL ORDER BY id DESC"
        ).fetchone()
    assert row == ("en", "Asia/Tashkent")
