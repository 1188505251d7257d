"""A planner's seasonal forecast on the map, in Debian chromium against a real stack, in
Russian: the analyst starts a forecast of the Afghan–Tajik border from the panel over the
demo's six years of incidents (planted June peak), the layer "expected next month" appears
coloured by the expected count with the untrusted sectors hatched grey and a legend that says
so; choosing June recolours it; a click on the hottest sector opens its chart (history,
fitted, forecast with interval, baseline) and the sentences on how far to trust it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import shapely

from geomon import demo
from geomon.reference import read_places
from geomon.store.forecasts import border_lines
from geomon.store.incidents import copy_incidents
from tests.conftest import REFERENCE, create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Stack, browser_page, login_cookie_for, running_stack
from tests.e2e.test_map_russian import LATIN_OK, UI_TEXT_JS

pytestmark = pytest.mark.browser
AGENCY = "TJK-BS"


@pytest.fixture(scope="module")
def fc_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_fc_map")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 1, silent=0, agency=AGENCY)
        places = read_places(REFERENCE / "places_central_asia.csv")
        with psycopg.connect(url) as conn:
            lines = border_lines(conn, "AFG-TJK")
            stretches = demo.stretch_points(shapely.union_all([g for _, g in lines]))
            rows = [
                dict(dataclasses.asdict(i), agency=i.agency_code)
                for i in demo.demo_incidents(places, 12_000, months=72, border_stretches=stretches)
            ]
            copy_incidents(conn, rows, source="demo (synthetic)")
            conn.commit()
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def fc_stack(fc_db: str) -> Iterator[Stack]:
    with running_stack(fc_db) as s:
        yield s


def _month_ru(k: int) -> str:
    """The name of the month ``k`` months after this one, as the page writes it in Russian."""
    now = datetime.now(UTC)
    m = (now.month - 1 + k) % 12
    return [
        "январь", "февраль", "март", "апрель", "май", "июнь",
        "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
    ][m]  # fmt: skip


def test_planner_sees_where_the_border_will_be_hot_and_how_sure(
    fc_db: str, fc_stack: Stack, output_dir: Path
) -> None:
    cookie = login_cookie_for(fc_db, fc_stack.base_url, AGENCY)
    with browser_page(fc_stack.base_url, cookie, locale="ru-RU", timezone_id="UTC") as b:
        page = b.page
        page.goto(fc_stack.base_url + "/map")
        page.wait_for_function("window.geomon && geomon.ready && geomon.forecast.renderer")
        page.click("#gm-fc-head")
        assert page.inner_text("#gm-fc-status") == "прогнозов пока нет"
        page.fill("#gm-fc-border", "AFG-TJK")
        page.fill("#gm-fc-sector", "25")
        page.fill("#gm-fc-years", "6")
        page.click("#gm-fc-start")
        page.wait_for_function("geomon.forecast.layer !== null", timeout=60000)
        status = page.inner_text("#gm-fc-status")
        assert "Прогноз на следующий месяц" in status and "на карте" in status, status

        # what the API says, to count what the map must show
        props = page.evaluate("geomon.forecast.fc.features.map(f => f.properties)")
        ok = [p for p in props if p["status"] == "ok"]
        untrusted = [p for p in ok if not p["trusted"]]
        assert len(ok) >= 5 and len(props) > len(ok)
        fills = page.evaluate(
            "[...document.querySelectorAll('.leaflet-gm-forecast-pane path')]"
            ".map(p => p.getAttribute('fill'))"
        )
        assert len(fills) == len(props)
        assert fills.count("url(#gm-fc-hatch)") == len(untrusted)
        assert fills.count("none") == len(props) - len(ok)  # no data: outlined only
        legend = page.inner_text("#gm-fc-legend")
        assert "не точнее, чем тот же месяц прошлого года" in legend, legend
        assert "недостаточно данных" in legend and "ожидаемое число инцидентов" in legend
        control = page.evaluate("document.querySelector('.leaflet-control-layers').textContent")
        assert "Прогноз на следующий месяц" in control and _month_ru(0) in control.lower()

        # June ahead, the planted peak month: the layer recoloured for it
        june = (6 - datetime.now(UTC).month) % 12
        options = page.eval_on_selector_all("#gm-fc-step option", "os => os.map(o => o.text)")
        assert len(options) == 12 and options[june].lower().startswith("июнь"), options
        page.select_option("#gm-fc-step", str(june))
        page.click("#gm-fc-show")
        page.wait_for_function(f"geomon.forecast.step === {june}")
        assert "июнь" in page.inner_text("#gm-fc-legend").lower()
        page.screenshot(path=str(output_dir / "forecast_map_ru.png"))
        # the layer as a file for the joint operation plan
        assert page.inner_text("#gm-fc-export") == "Скачать слой (GeoPackage)"
        with page.expect_download() as dl:
            page.click("#gm-fc-export")
        saved = output_dir / "forecast_layer.gpkg"
        dl.value.save_as(saved)
        info = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", str(saved)], capture_output=True, text=True, timeout=60
        )
        assert info.returncode == 0 and f"Feature Count: {len(props)}" in info.stdout, info.stderr

        # the hottest sector's chart
        hot = max(ok, key=lambda p: p["forecast"][june])
        assert hot["peak"] in (5, 6, 7)
        page.evaluate(
            f"""() => geomon.forecast.layer.eachLayer(l => {{
              if (l.feature.id === {hot["loc_id"]}) l.fire('click', {{}}, true); }})"""
        )
        page.wait_for_function("geomon.forecast.chart !== null && !document.getElementById"
                               "('gm-fc-chart-panel').hidden")  # fmt: skip
        text = page.inner_text("#gm-fc-chart-panel")
        assert hot["name"] in text
        assert "Тот же месяц прошлого года" in text and "Ожидаемый пик" in text, text
        trust = "прогноз точнее" if hot["trusted"] else "не полагайтесь"
        assert trust in text, text
        labels = page.evaluate("geomon.forecast.chart.data.datasets.map(d => d.label)")
        assert labels == [
            "инциденты", "модель", "интервал прогноза", "интервал прогноза", "прогноз",
            "выброс", "тот же месяц прошлого года",
        ]  # fmt: skip
        n_points = page.evaluate("geomon.forecast.chart.data.labels.length")
        assert n_points == 36 + 12
        page.screenshot(path=str(output_dir / "forecast_chart_ru.png"))

        # the panel and the chart speak Russian (codes and place names are data)
        bad = [
            t for t in page.evaluate(UI_TEXT_JS) if set(re.findall(r"[A-Za-z]{2,}", t)) - LATIN_OK
        ]
        assert bad == [], bad
        assert b.errors == [] and b.foreign == []


def test_the_same_run_in_english(fc_db: str, fc_stack: Stack) -> None:
    """The run the first test started, seen by an English reader; the form's units switch."""
    cookie = login_cookie_for(fc_db, fc_stack.base_url, AGENCY)
    with browser_page(fc_stack.base_url, cookie, locale="en-US", timezone_id="UTC") as b:
        page = b.page
        page.goto(fc_stack.base_url + "/map")
        page.wait_for_function("window.geomon && geomon.ready && geomon.forecast.runs.length > 0")
        page.click("#gm-fc-head")
        assert "border sectors AFG-TJK" in page.inner_text("#gm-fc-run")
        page.click("#gm-fc-show")
        page.wait_for_function("geomon.forecast.layer !== null")
        legend = page.inner_text("#gm-fc-legend")
        assert "Expected next month (" in legend and "incidents expected per location" in legend
        assert "not better than same month last year: do not rely on it" in legend
        tip = page.evaluate(
            "geomon.forecastTip(geomon.forecast.fc.features.find(f => f.properties.status === "
            "'ok').properties, 0, 'month')"
        )
        assert tip.startswith("expected ") and "; peak: " in tip, tip
        page.evaluate(
            """() => { const ok = geomon.forecast.layer.getLayers()
              .filter(l => l.feature.properties.status === 'ok');
              ok[0].fire('click', {}, true); }"""
        )
        page.wait_for_function("geomon.forecast.chart !== null")
        text = page.inner_text("#gm-fc-chart-panel")
        assert "Same month last year:" in text and "Backtest error (MASE)" in text, text
        labels = page.evaluate("geomon.forecast.chart.data.datasets.map(d => d.label)")
        assert labels[0] == "incidents" and labels[-1] == "same month last year"
        assert page.is_visible("#gm-fc-border") and not page.is_visible("#gm-fc-cell")
        page.select_option("#gm-fc-units", "grid")
        assert page.is_visible("#gm-fc-cell") and not page.is_visible("#gm-fc-border")
        assert b.errors == [] and b.foreign == []
