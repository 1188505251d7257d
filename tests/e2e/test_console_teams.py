"""The team list beside the map, in Russian and English, in Debian chromium against a real
stack: every device with its status (moving, silent, never seen), last-fix age in the user's
zone, speed and agency; the status filter and search narrow it; a click follows the team."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from geomon.store.devices import add_device
from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Browser, Stack, browser_page, login_cookie_for, running_stack

pytestmark = pytest.mark.browser
AGENCY = "KGZ-BS"  # the page's zone: Asia/Bishkek
TEXTS = {
    "ru": {"head": "Группы", "moving": "в движении", "silent": "молчит", "never": "нет данных"},
    "en": {"head": "Teams", "moving": "moving", "silent": "silent", "never": "never seen"},
}


@pytest.fixture(scope="module")
def teams_db(pg_base_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    url = create_database(pg_base_url, "geomon_teams")
    try:
        prepare_database(url)
        ids = map_seed.seed_teams(url, 3, silent=1, agency=AGENCY)
        with psycopg.connect(url) as conn:
            ids["NEVER-001"] = add_device(
                conn, uid="NEVER-001", kind="tracker", agency=AGENCY, name="Reserve team"
            ).id
        yield url, ids
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def teams_stack(teams_db: tuple[str, dict[str, int]]) -> Iterator[Stack]:
    with running_stack(teams_db[0]) as s:
        yield s


def _open(b: Browser, base_url: str) -> None:
    b.page.goto(base_url + "/map")
    b.page.wait_for_function(
        "window.geomon && geomon.ready && document.querySelectorAll('.gm-teamrow').length >= 4",
        timeout=20000,
    )


def _status_of(b: Browser, device_id: int) -> str:
    return str(b.page.inner_text(f"#gm-team-{device_id} .gm-team-status"))


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_team_list(lang: str, teams_db: tuple, teams_stack: Stack, output_dir: Path) -> None:
    url, ids = teams_db
    cookie = login_cookie_for(url, teams_stack.base_url, AGENCY)
    locale = {"ru": "ru-RU", "en": "en-US"}[lang]
    words = TEXTS[lang]
    with browser_page(teams_stack.base_url, cookie, locale=locale, timezone_id="UTC") as b:
        _open(b, teams_stack.base_url)
        page = b.page
        assert page.inner_text("#gm-teams-head").startswith(words["head"])
        assert _status_of(b, ids[map_seed.team_uid(0)]) == words["moving"]
        assert _status_of(b, ids[map_seed.team_uid(2)]) == words["silent"]  # track ended 1 h ago
        assert _status_of(b, ids["NEVER-001"]) == words["never"]
        row = page.inner_text(f"#gm-team-{ids[map_seed.team_uid(0)]}")
        assert ("км/ч" if lang == "ru" else "km/h") in row and AGENCY in row
        assert ("назад" if lang == "ru" else "ago") in row
        # the age's tooltip is the fix time in the user's zone (Bishkek), not the browser's UTC
        age = page.locator(f"#gm-team-{ids[map_seed.team_uid(0)]} .gm-team-age")
        fix_time = page.evaluate(
            f"geomon.teamRows.find(r => r.device_id === {ids[map_seed.team_uid(0)]}).fix_time"
        )
        local = datetime.fromisoformat(fix_time).astimezone(ZoneInfo("Asia/Bishkek"))
        assert local.strftime("%H:%M:%S") in str(age.get_attribute("title"))
        page.screenshot(path=str(output_dir / f"teams_{lang}.png"))

        page.select_option("#gm-teams-status", "never_seen")
        assert page.locator(".gm-teamrow").count() == 1
        assert page.inner_text("#gm-teams-count") == ("1 из 4" if lang == "ru" else "1 of 4")
        page.select_option("#gm-teams-status", "")
        page.fill("#gm-teams-q", "team 001")
        assert [
            int(x)
            for x in page.eval_on_selector_all(
                ".gm-teamrow", "els => els.map(e => e.id.split('-').pop())"
            )
        ] == [ids[map_seed.team_uid(1)]]

        page.click(f"#gm-team-{ids[map_seed.team_uid(1)]}")
        assert page.evaluate("geomon.followId") == ids[map_seed.team_uid(1)]
        assert page.is_visible("#gm-follow")
        centre = page.evaluate("[geomonMap.getCenter().lat, geomonMap.getCenter().lng]")
        marker = page.evaluate(
            f"[geomon.teamLayers[{ids[map_seed.team_uid(1)]}].getLatLng().lat,"
            f" geomon.teamLayers[{ids[map_seed.team_uid(1)]}].getLatLng().lng]"
        )
        assert abs(centre[0] - marker[0]) < 0.01 and abs(centre[1] - marker[1]) < 0.01
        assert b.errors == [] and b.foreign == []
