"""The offline labelled basemap and the layers over it, in a real browser (Debian chromium via
Playwright) against a real stack (PostGIS, ``geomon serve``), in Russian and in English.

Labels are drawn into canvases by protomaps-leaflet, so the test reads what is drawn: an init
script wraps ``CanvasRenderingContext2D.fillText`` and records each text with where it lands on
the page; a label counts when it lands inside the map's visible area. A density surface (a
GeoTIFF with one bump on zero) switched on must change the map's pixels over the bump and leave
those over its zero cells as they were."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from affine import Affine
from PIL import Image
from pyproj import Transformer

from geomon.osm_roads import OSM_SOURCE, read_osm_roads
from geomon.spatial.raster_io import Grid, write_geotiff
from geomon.store.basemap import load_roads
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


# a road of an OSM extract along the Panj north of Khorog (about 12 km)
ROAD_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="geomon test">
  <node id="1" lat="37.4900" lon="71.5500" version="1"/>
  <node id="2" lat="37.5400" lon="71.5300" version="1"/>
  <node id="3" lat="37.5900" lon="71.5100" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="name" v="Pamir Highway"/>
    <tag k="name:ru" v="Памирский тракт"/></way>
</osm>
"""
SURFACE_RUN = 99
BUMP_UTM = (230_000.0, 4_150_000.0)  # UTM 42N, ~68.0E 37.5N: south-west Tajikistan
TO_LL = Transformer.from_crs("EPSG:32642", "EPSG:4326", always_xy=True)


def _density_surface(folder: Path) -> Path:
    """A 60 km square KDE-like surface: a bump of radius 10 km in the middle, zero elsewhere."""
    n, cell = 300, 200.0
    yy, xx = np.mgrid[0:n, 0:n]
    r2 = ((xx - n / 2) ** 2 + (yy - n / 2) ** 2) * cell**2
    arr = np.where(r2 < 10_000.0**2, (1 - r2 / 10_000.0**2) ** 2 * 3.0, 0.0).astype("float32")
    west, north = BUMP_UTM[0] - n / 2 * cell, BUMP_UTM[1] + n / 2 * cell
    grid = Grid(arr, Affine(cell, 0, west, 0, -cell, north), "EPSG:32642", -9999.0)
    return write_geotiff(folder / "density.tif", grid)


@pytest.fixture(scope="module")
def basemap_db(pg_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_basemap")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 2, silent=0, agency=AGENCY)
        folder = tmp_path_factory.mktemp("surface")
        path = _density_surface(folder)
        (folder / "road.osm").write_text(ROAD_OSM, encoding="utf-8")
        with psycopg.connect(url) as conn:
            load_roads(conn, read_osm_roads(folder / "road.osm"), OSM_SOURCE)
            agency = conn.execute("SELECT id FROM agencies WHERE code = %s", (AGENCY,)).fetchone()
            conn.execute(
                "INSERT INTO surfaces (kind, name, path, crs, units, params, agency_id) VALUES "
                "('kde', %s, %s, 'EPSG:32642', 'points per km2', '{}', %s)",
                (f"hotspot run {SURFACE_RUN} (kde)", str(path), agency[0]),
            )
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
    # at zoom 11 the roads of an OSM extract are labelled too
    assert "Памирский тракт" in labels_at(ru_page, KHOROG, 11)
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


def _map_pixels(b: Browser) -> Image.Image:
    return Image.open(io.BytesIO(b.page.locator(".folium-map").screenshot())).convert("RGB")


def _settled(b: Browser) -> None:
    b.page.wait_for_function(
        "() => { let busy = false; geomonMap.eachLayer(l => { if (l.isLoading && l.isLoading()) "
        "busy = true; }); return !busy; }",
        timeout=15000,
    )
    b.page.wait_for_timeout(800)


def _point(b: Browser, lon: float, lat: float) -> tuple[int, int]:
    p = b.page.evaluate("([lat, lon]) => geomonMap.latLngToContainerPoint([lat, lon])", [lat, lon])
    return round(p["x"]), round(p["y"])


def _layer_labels(b: Browser) -> list[str]:
    return list(
        b.page.evaluate(
            "[...document.querySelectorAll('.leaflet-control-layers-list label, "
            ".leaflet-control-layers-list .gm-layer-group')].map(e => e.textContent.trim())"
        )
    )


def test_surface_draws_above_the_basemap_and_zero_stays_clear(
    ru_page: Browser, output_dir: Path
) -> None:
    page = ru_page.page
    bump = TO_LL.transform(*BUMP_UTM)
    zero = TO_LL.transform(BUMP_UTM[0] + 20_000.0, BUMP_UTM[1] - 20_000.0)  # inside, density 0
    page.evaluate(
        "([lat, lon]) => geomonMap.setView([lat, lon], 9, {animate: false})", [bump[1], bump[0]]
    )
    page.evaluate(
        "document.querySelectorAll('.gm-panel').forEach(p => p.style.visibility = 'hidden')"
    )
    _settled(ru_page)
    before = _map_pixels(ru_page)
    name = f"Плотность инцидентов (KDE), расчёт {SURFACE_RUN}"
    labels = _layer_labels(ru_page)
    assert name in labels, labels
    # the control in groups with Russian headings; no folium internal names
    for head in ("Подложка", "Оперативная обстановка", "Анализ", "Справочные слои"):
        assert head in labels, labels
    assert not [x for x in labels if "macro_element" in x or x.startswith("surface ")]
    page.evaluate(
        "(name) => [...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".find(l => l.textContent.trim() === name).querySelector('input').click()",
        name,
    )
    _settled(ru_page)
    after = _map_pixels(ru_page)
    page.evaluate("document.querySelectorAll('.gm-panel').forEach(p => p.style.visibility = '')")
    page.screenshot(path=str(output_dir / "basemap_surface_on.png"))
    bx, by = _point(ru_page, *bump)
    zx, zy = _point(ru_page, *zero)
    assert before.getpixel((bx, by)) != after.getpixel((bx, by))  # the bump is drawn
    assert before.getpixel((zx, zy)) == after.getpixel((zx, zy))  # zero density: transparent
    # the surface sits in its pane, above the basemap's tiles and below polygons and markers
    z = page.evaluate(
        "['tilePane', 'gm-surfaces', 'overlayPane', 'gm-labels', 'markerPane'].map(p => "
        "+getComputedStyle(geomonMap.getPane(p)).zIndex)"
    )
    assert z == sorted(z), z
    page.evaluate("document.getElementById('gm-legend-body').hidden = false")
    legend = page.inner_text("#gm-legend")
    assert "инцидентов на км²" in legend and "нулевые значения не закрашены" in legend, legend
    assert "Горячая точка" not in legend  # no Gi* run: its classes are not in the legend
    assert ru_page.errors == [] and ru_page.foreign == []


def test_legend_never_covers_the_events_panel(ru_page: Browser) -> None:
    page = ru_page.page
    page.set_viewport_size({"width": 1280, "height": 620})
    page.evaluate("document.getElementById('gm-legend-body').hidden = false; geomon.fitLegend()")
    page.wait_for_timeout(300)
    boxes = page.evaluate(
        "['gm-legend', 'gm-events'].map(id => document.getElementById(id)"
        ".getBoundingClientRect().toJSON())"
    )
    legend, events = boxes
    overlap = not (
        legend["bottom"] <= events["top"]
        or legend["top"] >= events["bottom"]
        or legend["right"] <= events["left"]
        or legend["left"] >= events["right"]
    )
    assert not overlap, boxes


def test_stacked_teams_spread_out_on_click(en_page: Browser, output_dir: Path) -> None:
    page = en_page.page
    page.wait_for_function("Object.keys(geomon.teamLayers).length >= 2", timeout=15000)
    # put the second team on the first one's spot: two markers a person cannot tell apart
    ids = page.evaluate(
        """() => { const ids = Object.keys(geomon.teamLayers).slice(0, 2);
        const a = geomon.teamLayers[ids[0]], b = geomon.teamLayers[ids[1]];
        geomonMap.setView(a.getLatLng(), 11, {animate: false}); b.setLatLng(a.getLatLng());
        return ids; }"""
    )
    page.evaluate("(id) => geomon.teamLayers[id].fire('click')", ids[0])
    ghosts = page.evaluate(
        "() => geomon.spreadGroup ? geomon.spreadGroup.getLayers().filter(l => l.gmTeamId)"
        ".map(l => [l.gmTeamId, geomonMap.latLngToContainerPoint(l.getLatLng())]) : []"
    )
    assert sorted(g[0] for g in ghosts) == sorted(ids), ghosts
    (ax, ay), (bx, by) = ((g[1]["x"], g[1]["y"]) for g in ghosts)
    assert ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 >= 40  # apart enough to pick one
    assert page.evaluate("document.querySelector('.leaflet-popup-content') === null")
    page.screenshot(path=str(output_dir / "basemap_spread.png"))
    # picking the second team opens its popup and follows it; the spread folds back
    page.evaluate(
        "(id) => geomon.spreadGroup.getLayers().find(l => l.gmTeamId === id).fire('click')",
        ids[1],
    )
    assert page.evaluate("geomon.followId") == int(ids[1])
    name = page.evaluate("(id) => geomon.teamLayers[id].feature.properties.name", ids[1])
    assert name in page.inner_text(".leaflet-popup-content")
    assert page.evaluate("geomon.spreadGroup") is None
    assert en_page.errors == [] and en_page.foreign == []
