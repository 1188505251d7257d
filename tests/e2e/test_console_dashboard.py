"""The dashboard panel and the incidents filter in Debian chromium against a real stack:
the incidents on the map narrow to a category and a time window (the cluster holds exactly the
database's count), the charts (Chart.js served by our own server) hold the database's counts
of events per hour by kind and incidents per week, labelled in the user's zone, in Russian."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Stack, browser_page, login_cookie_for, running_stack

pytestmark = pytest.mark.browser
AGENCY = "KGZ-BS"


@pytest.fixture(scope="module")
def dash_db(pg_base_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    url = create_database(pg_base_url, "geomon_dash")
    try:
        prepare_database(url)
        ids = map_seed.seed_teams(url, 1, silent=0, agency=AGENCY)
        map_seed.seed_layers(url, incidents=400, agency=AGENCY)
        device = ids[map_seed.team_uid(0)]
        for _ in range(3):
            map_seed.insert_event(url, device, kind="border_cross", severity="critical")
        map_seed.insert_event(url, device, kind="silent", severity="warning")
        yield url, ids
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def dash_stack(dash_db: tuple[str, dict[str, int]]) -> Iterator[Stack]:
    with running_stack(dash_db[0]) as s:
        yield s


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_incident_filter_and_charts(dash_db: tuple, dash_stack: Stack, output_dir: Path) -> None:
    url, _ = dash_db
    cookie = login_cookie_for(url, dash_stack.base_url, AGENCY)
    with browser_page(dash_stack.base_url, cookie, locale="ru-RU", timezone_id="UTC") as b:
        page = b.page
        page.goto(dash_stack.base_url + "/map")
        page.wait_for_function("window.geomon && geomon.ready && geomon.incidentAll.length > 0")
        total = _count(url, "SELECT count(*) FROM incidents")
        cluster = "geomon.incidentCluster.getLayers().length"
        assert page.evaluate("geomon.incidentAll.length") == total
        assert page.inner_text("#gm-dash-head") == "Сводка"
        page.click("#gm-dash-head")  # opens the panel; the charts load

        page.select_option("#gm-inc-category", "seizure")
        seizures = _count(url, "SELECT count(*) FROM incidents WHERE category = 'seizure'")
        assert 0 < seizures < total
        assert page.evaluate(cluster) == seizures
        page.select_option("#gm-inc-window", "30")
        recent = _count(
            url,
            "SELECT count(*) FROM incidents WHERE category = 'seizure' AND "
            "(occurred_at AT TIME ZONE 'UTC')::date > (now() AT TIME ZONE 'UTC')::date - 30",
        )
        assert page.evaluate(cluster) == recent < seizures
        assert page.inner_text("#gm-inc-count").startswith(f"{recent} из ")
        page.select_option("#gm-inc-category", "")
        page.select_option("#gm-inc-window", "0")
        assert page.evaluate(cluster) == total

        page.wait_for_function(
            "geomon.charts['gm-chart-events'] && geomon.charts['gm-chart-incidents'] && "
            "document.getElementById('gm-dash-coverage').textContent !== '–'",
            timeout=15000,
        )
        sums = page.evaluate(
            "Object.fromEntries(geomon.charts['gm-chart-events'].data.datasets.map("
            "d => [d.label, d.data.reduce((a, b) => a + b, 0)]))"
        )
        assert sums == {"пересечение границы": 3, "группа молчит": 1}
        labels = page.evaluate("geomon.charts['gm-chart-events'].data.labels")
        assert len(labels) == 24 and all(len(x) == 5 and x.endswith(":00") for x in labels)
        # the last bucket is the current hour in Bishkek (UTC+6), not the browser's UTC
        local_hour = _count(url, "SELECT extract(hour FROM now() AT TIME ZONE 'Asia/Bishkek')")
        assert labels[-1] == f"{local_hour:02d}:00"
        weekly = page.evaluate(
            "geomon.charts['gm-chart-incidents'].data.datasets.map(d => d.data).flat()"
            ".reduce((a, b) => a + b, 0)"
        )
        assert weekly == _count(
            url,
            "SELECT count(*) FROM incidents WHERE occurred_at >= now() - interval '12 weeks'",
        )
        assert page.inner_text("#gm-dash-coverage") == "нет поверхности риска"
        page.screenshot(path=str(output_dir / "dashboard_ru.png"))
        assert b.errors == [] and b.foreign == []
