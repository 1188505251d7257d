"""An analyst starts runs from the map in Debian chromium against a real stack, in Russian and
in English: a Gi* run over
a rectangle drawn on the map (geoman) and a KDE run over the current view, each with its time
window; the panel shows the progress and the finished run's layer appears on the map (Gi*
cells as paths in the analysis pane; KDE as PNG tiles that loaded). The runs are stored with
the drawn area and window as their input filter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Stack, browser_page, running_stack
from tests.helpers.auth import login_cookie, make_user

pytestmark = pytest.mark.browser
AGENCY = "TJK-BS"
# What the page says, per language (the catalogue's Russian; English is the msgid itself).
TEXT = {
    "ru": {
        "view": "область: текущий вид",
        "drawn": "область: нарисованный прямоугольник",
        "on_map": "на карте",
        "kde": "Плотность (KDE): прогон {id}",
    },
    "en": {
        "view": "area: the current view",
        "drawn": "area: the drawn rectangle",
        "on_map": "on the map",
        "kde": "Density (KDE): run {id}",
    },
}


@pytest.fixture(scope="module")
def run_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_runs")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 1, silent=0, agency=AGENCY)
        map_seed.seed_layers(url, incidents=1500, agency=AGENCY)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def run_stack(run_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("runs-data")
    with running_stack(run_db, env={"GEOMON_DATA_DIR": str(data)}) as s:
        yield s


def _runs(url: str, user: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id, kind, status, input_filter FROM hotspot_runs WHERE created_by = %s "
            "ORDER BY id",
            (user,),
        ).fetchall()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_analyst_starts_runs_and_gets_their_layers(
    lang: str, run_db: str, run_stack: Stack, output_dir: Path
) -> None:
    text = TEXT[lang]
    user, password, _ = make_user(run_db, role="analyst", agency=AGENCY)
    cookie = login_cookie(run_stack.base_url, user, password)
    locale = {"ru": "ru-RU", "en": "en-US"}[lang]
    with browser_page(run_stack.base_url, cookie, locale=locale, timezone_id="UTC") as b:
        page = b.page
        page.goto(run_stack.base_url + "/map")
        page.wait_for_function("window.geomon && geomon.ready && geomon.layerControl")
        page.evaluate("geomonMap.setView([38.0, 70.5], 7, {animate: false})")
        page.click("#gm-analysis-head")
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.inner_text("#gm-run-area") == text["view"]
        page.select_option("#gm-run-kind", "gistar")
        page.fill("#gm-run-cell", "10")
        page.fill("#gm-run-since", "2020-01-01")
        page.click("#gm-run-draw")
        box = page.locator("#map, .folium-map").first.bounding_box()
        assert box is not None
        x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
        x1, y1 = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7
        page.mouse.click(x0, y0)
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2)
        page.mouse.click(x1, y1)
        page.wait_for_function("geomon.analysis.area !== null")
        assert page.inner_text("#gm-run-area") == text["drawn"]
        page.click("#gm-run-start")
        page.wait_for_function("Object.keys(geomon.analysis.layers).length === 1", timeout=60000)
        status = page.inner_text("#gm-run-status")
        assert text["on_map"] in status, status
        paths = page.evaluate("document.querySelectorAll('.leaflet-gm-analysis-pane path').length")
        assert paths > 0
        runs = _runs(run_db, user)
        assert [(r[1], r[2]) for r in runs] == [("gistar", "done")]
        aoi = runs[0][3]["aoi"]
        xs = [p[0] for p in aoi["coordinates"][0]]
        ys = [p[1] for p in aoi["coordinates"][0]]
        # the drawn rectangle: the middle 40 % of the view (~15° wide at zoom 7) around 70.5 E
        assert min(xs) < 70.5 < max(xs) and min(ys) < 38.0 < max(ys)
        assert 4 < max(xs) - min(xs) < 8 and runs[0][3]["since"].startswith("2020-01-01")
        page.screenshot(path=str(output_dir / f"analysis_gistar_{lang}.png"))

        page.select_option("#gm-run-kind", "kde")
        page.click("#gm-run-clear")  # back to the current view
        page.click("#gm-run-start")
        page.wait_for_function("Object.keys(geomon.analysis.layers).length === 2", timeout=60000)
        page.wait_for_function(
            "[...document.querySelectorAll('.leaflet-gm-analysis-pane img')]"
            ".some(i => i.complete && i.naturalWidth === 256)",
            timeout=20000,
        )
        runs = _runs(run_db, user)
        assert [(r[1], r[2]) for r in runs] == [("gistar", "done"), ("kde", "done")]
        assert len(runs[1][3]["bbox"]) == 4
        names = page.evaluate("geomon.layerControl._layers.filter(l => l.overlay).map(l => l.name)")
        assert text["kde"].format(id=runs[1][0]) in names, names
        page.screenshot(path=str(output_dir / f"analysis_kde_{lang}.png"))
        assert b.errors == [] and b.foreign == []
