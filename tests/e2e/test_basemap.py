"""The offline labelled basemap in a real browser (Debian chromium via Playwright) against a
real stack (PostGIS, ``geomon serve``), in Russian and in English.

Labels are drawn into canvases by protomaps-leaflet, so the test reads what is drawn: an init
script wraps ``CanvasRenderingContext2D.fillText`` and records each text with where it lands on
the page; a label counts when it lands inside the map's visible area."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Browser, Stack, browser_page, login_cookie_for, running_stack

pytestmark = pytest.mark.browser
AGENCY = "TJK-BS"  # Tajikistan: the border of the Panj
KHOROG = (37.49, 71.55)  # the town of Khorog (Хорог) on the Panj, the Afghan–Tajik border
BORDER_ZOOM = 9
# Records every fillText with its page position (CSS px) and the canvas it went to.
RECORD_TEXT = """
(() => {
  window.gmDrawn = [];
  const fill = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, x, y) {
    const c = this.canvas, m = this.getTransform(), r = c.getBoundingClientRect();
    const px = m.a * x + m.c * y + m.e, py = m.b * x + m.d * y + m.f;
    window.gmDrawn.push({ text: String(text), canvas: c,
      x: r.left + px * r.width / (c.width || 1), y: r.top + py * r.height / (c.height || 1) });
    return fill.apply(this, arguments);
  };
})();
"""
# The labels drawn since ``gmDrawn`` was last cleared that a person can see: on a canvas still
# in the page, inside the map's box.
VISIBLE_LABELS = """() => {
  const box = geomonMap.getContainer().getBoundingClientRect();
  return [...new Set(window.gmDrawn.filter(d => d.canvas.isConnected
      && d.x >= box.left && d.x <= box.right && d.y >= box.top && d.y <= box.bottom)
    .map(d => d.text))];
}"""


@pytest.fixture(scope="module")
def basemap_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_basemap")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 2, silent=0, agency=AGENCY)
        yield url
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def basemap_stack(basemap_db: str) -> Iterator[Stack]:
    with running_stack(basemap_db) as s:
        yield s


def _page(stack: Stack, db_url: str, locale: str) -> Iterator[Browser]:
    cookie = login_cookie_for(db_url, stack.base_url, AGENCY)
    with browser_page(stack.base_url, cookie, locale=locale) as b:
        b.page.add_init_script(RECORD_TEXT)
        b.page.goto(stack.base_url + "/map")
        b.page.wait_for_function("window.geomon && geomon.ready && geomon.basemap", timeout=15000)
        yield b


# one browser at a time (Playwright's sync API cannot nest): a page per test
@pytest.fixture
def ru_page(basemap_db: str, basemap_stack: Stack) -> Iterator[Browser]:
    yield from _page(basemap_stack, basemap_db, "ru-RU")


@pytest.fixture
def en_page(basemap_db: str, basemap_stack: Stack) -> Iterator[Browser]:
    yield from _page(basemap_stack, basemap_db, "en-US")


def labels_at(b: Browser, centre: tuple[float, float], zoom: int) -> list[str]:
    """The labels a person sees after the map settled at ``centre`` and ``zoom``."""
    page = b.page
    page.evaluate(
        "([lat, lon, z]) => { geomonMap.setView([lat, lon], z, {animate: false}); "
        "window.gmDrawn = []; geomon.basemap.gmLabels.redraw(); }",
        [centre[0], centre[1], zoom],
    )
    page.wait_for_function(
        "() => !geomon.basemap.gmLabels.isLoading() && !geomon.basemap.gmBase.isLoading()",
        timeout=15000,
    )
    page.wait_for_timeout(600)  # protomaps-leaflet paints a tile a few ms after its data came
    return list(page.evaluate(VISIBLE_LABELS))


def test_russian_basemap_names_town_and_river_at_border_zoom(
    ru_page: Browser, output_dir: Path
) -> None:
    labels = labels_at(ru_page, KHOROG, BORDER_ZOOM)
    ru_page.page.screenshot(path=str(output_dir / "basemap_ru_border.png"))
    assert "Хорог" in labels, labels
    assert "Пяндж" in labels, labels
    assert "Khorugh" not in labels and "Panj" not in labels
    assert ru_page.errors == [] and ru_page.foreign == []


def test_russian_basemap_names_countries_and_capitals_at_region_zoom(
    ru_page: Browser, output_dir: Path
) -> None:
    labels = labels_at(ru_page, (41.0, 67.0), 5)
    ru_page.page.screenshot(path=str(output_dir / "basemap_ru_region.png"))
    assert {"Таджикистан", "Кыргызстан", "Узбекистан", "Казахстан"} <= set(labels), labels
    assert {"Душанбе", "Ташкент"} <= set(labels), labels
    assert ru_page.errors == [] and ru_page.foreign == []


def test_english_basemap_uses_english_names(en_page: Browser, output_dir: Path) -> None:
    labels = labels_at(en_page, KHOROG, BORDER_ZOOM)
    en_page.page.screenshot(path=str(output_dir / "basemap_en_border.png"))
    assert "Khorugh" in labels and "Panj" in labels, labels
    assert "Хорог" not in labels and "Пяндж" not in labels
    assert en_page.errors == [] and en_page.foreign == []
