"""The event desk in Debian chromium against a real stack, in Russian and English: an
operator opens an alarm from the events panel, acknowledges it, assigns it to the duty officer
with a note, resolves it with a note, and reads its history on the page (who did what, times in
the user's zone, not the browser's UTC). The database holds the same story, append-only, and
every change is in the audit log; the desk's filters find the resolved event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Browser, Stack, browser_page, running_stack
from tests.helpers.auth import login_cookie, make_user

pytestmark = pytest.mark.browser
AGENCY = "KGZ-BS"  # the page's zone: Asia/Bishkek
WORDS = {
    "ru": {"head": "Журнал событий", "assigned": "назначил(а) исполнителя", "resolved": "закрыто:"},
    "en": {"head": "Event desk", "assigned": "assigned it to", "resolved": "resolved by"},
}


@pytest.fixture(scope="module")
def desk_db(pg_base_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    url = create_database(pg_base_url, "geomon_desk")
    try:
        prepare_database(url)
        yield url, map_seed.seed_teams(url, 1, silent=0, agency=AGENCY)
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def desk_stack(desk_db: tuple[str, dict[str, int]]) -> Iterator[Stack]:
    with running_stack(desk_db[0]) as s:
        yield s


def _history(b: Browser) -> str:
    return str(b.page.inner_text("#gm-desk-history"))


def _wait_history(b: Browser, text: str) -> None:
    b.page.wait_for_function(
        "t => document.getElementById('gm-desk-history').innerText.includes(t)",
        arg=text,
        timeout=10000,
    )


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_operator_acknowledges_assigns_resolves(
    lang: str, desk_db: tuple, desk_stack: Stack, output_dir: Path
) -> None:
    url, ids = desk_db
    device_id = ids[map_seed.team_uid(0)]
    event_id = map_seed.insert_event(url, device_id, kind="border_cross", severity="critical")
    operator, password, _ = make_user(url, role="analyst", agency=AGENCY)
    duty, _, _ = make_user(url, role="viewer", agency=AGENCY)
    with psycopg.connect(url) as conn:
        audit_before = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    cookie = login_cookie(desk_stack.base_url, operator, password)
    words = WORDS[lang]
    locale = {"ru": "ru-RU", "en": "en-US"}[lang]
    with browser_page(desk_stack.base_url, cookie, locale=locale, timezone_id="UTC") as b:
        page = b.page
        page.goto(desk_stack.base_url + "/map")
        page.wait_for_selector(f"#gm-event-{event_id} .gm-open", timeout=20000)
        assert page.inner_text("#gm-desk-head").startswith(words["head"])
        page.click(f"#gm-event-{event_id} .gm-open")
        page.wait_for_function("document.querySelectorAll('#gm-desk-history li').length >= 1")

        page.click("#gm-desk-ack")
        _wait_history(b, operator)
        assert page.locator(f"#gm-event-{event_id}.gm-acked").count() == 1  # the panel follows
        page.wait_for_function(
            "u => [...document.querySelectorAll('#gm-desk-assignee option')]"
            ".some(o => o.value === u)",
            arg=duty,
        )
        page.select_option("#gm-desk-assignee", duty)
        page.fill("#gm-desk-note", "patrol 3 sent")
        page.click("#gm-desk-assign")
        _wait_history(b, duty)
        page.fill("#gm-desk-note", "herders, not a crossing")
        page.click("#gm-desk-resolve")
        _wait_history(b, "herders, not a crossing")
        text = _history(b)
        assert f"{operator} {words['assigned']} {duty}: patrol 3 sent" in text
        assert words["resolved"] in text and "herders, not a crossing" in text
        assert page.is_disabled("#gm-desk-resolve") and page.is_disabled("#gm-desk-assign")
        page.screenshot(path=str(output_dir / f"event_desk_{lang}.png"))

        with psycopg.connect(url) as conn:
            state, assigned, note = conn.execute(
                "SELECT state, assigned_to, resolution_note FROM events WHERE id = %s",
                (event_id,),
            ).fetchone()
            hist = conn.execute(
                "SELECT action, by, at FROM event_history WHERE event_id = %s ORDER BY id",
                (event_id,),
            ).fetchall()
            audited = conn.execute(
                "SELECT route FROM audit_log WHERE id > %s AND method = 'POST' AND username = %s "
                "ORDER BY id",
                (audit_before, operator),
            ).fetchall()
        assert (state, assigned, note) == ("resolved", duty, "herders, not a crossing")
        assert [(a, who) for a, who, _ in hist] == [
            ("acknowledge", operator),
            ("assign", operator),
            ("resolve", operator),
        ]
        assert [r[0].rsplit("/", 1)[-1] for r in audited] == ["acknowledge", "assign", "resolve"]
        # the resolution's time on the page is in Bishkek's zone, not the browser's UTC
        local = hist[2][2].astimezone(ZoneInfo("Asia/Bishkek"))
        assert local.strftime("%H:%M:%S") in text
        assert local.hour != hist[2][2].astimezone(ZoneInfo("UTC")).hour

        # the desk's filters find it among resolved critical events, and not among info ones
        page.select_option("#gm-desk-state", "resolved")
        page.select_option("#gm-desk-severity", "critical")
        page.select_option("#gm-desk-kind", "border_cross")
        page.fill("#gm-desk-agency", AGENCY)
        page.click("#gm-desk-search")
        page.wait_for_selector(f"#gm-desk-ev-{event_id}", timeout=10000)
        page.select_option("#gm-desk-severity", "info")
        page.click("#gm-desk-search")
        page.wait_for_selector(f"#gm-desk-ev-{event_id}", state="detached", timeout=10000)
        assert b.errors == [] and b.foreign == []
