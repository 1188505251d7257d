"""A time in a popup is in the user's zone in the English console too (issue 20): a Tajik
analyst (agency default Asia/Dushanbe, UTC+5) in a browser that runs in UTC sees a team's
last fix as a local date-time plus "ago", not the UTC the API sends. Russian (UTC+6, and +5
after a switch of zone): test_map_russian.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Stack, browser_page, login_cookie_for, running_stack

pytestmark = pytest.mark.browser
AGENCY = "TJK-BS"
ZONE = ZoneInfo("Asia/Dushanbe")


@pytest.fixture(scope="module")
def en_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_popup_en")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 2, silent=0, agency=AGENCY)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def en_stack(en_db: str) -> Iterator[Stack]:
    with running_stack(en_db) as s:
        yield s


def _shown(local: datetime) -> re.Pattern[str]:
    """Intl's en-US date-time with hour12 false; midnight may print as 24 (h24 cycle)."""
    hour = "(24|00)" if local.hour == 0 else f"{local.hour:02d}"
    return re.compile(local.strftime(f"%m/%d/%Y, {hour}:%M:%S"))


def test_team_popup_time_is_local_to_dushanbe(en_db: str, en_stack: Stack) -> None:
    cookie = login_cookie_for(en_db, en_stack.base_url, AGENCY)
    with browser_page(en_stack.base_url, cookie, locale="en-US", timezone_id="UTC") as b:
        page = b.page
        page.goto(en_stack.base_url + "/map")
        page.wait_for_function(
            "window.geomon && geomon.ready && Object.keys(geomon.teamLayers).length >= 1",
            timeout=15000,
        )
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.evaluate("geomon.i18n.timeZone") == "Asia/Dushanbe"
        text, fix_time = page.evaluate(
            """() => { const m = Object.values(geomon.teamLayers)[0];
            m.openPopup(); const el = document.querySelector('.leaflet-popup-content');
            return [el.textContent, m.feature.properties.fix_time]; }"""
        )
        instant = datetime.fromisoformat(fix_time)
        assert instant.utcoffset() is not None and not instant.utcoffset()  # the API: UTC
        local = instant.astimezone(ZONE)
        assert local.utcoffset().total_seconds() == 5 * 3600
        assert _shown(local).search(text), text
        assert not _shown(instant).search(text), text  # not the browser's own UTC
        assert "ago" in text and "km/h" in text, text
        assert b.errors == [] and b.foreign == []
