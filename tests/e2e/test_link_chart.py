"""The link chart in Debian chromium against a real stack: an analyst finds a person by name,
opens the chart (Cytoscape.js served by our own server), sees the person, the vehicle, the
phone and the seizure case with the link kinds in Russian, moves the timeline back before the
seizure, clicks a node for its details, downloads the i2 file, and opens a chart from a case
number; in English the same chart opens from /map#entity=ID."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from geomon.exchange.network import I2_COLUMNS
from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Browser, Stack, browser_page, login_cookie_for, running_stack

pytestmark = pytest.mark.browser
AGENCY = "KGZ-BS"  # the page's zone is Asia/Bishkek (UTC+6)
ENTITY = (
    "INSERT INTO entities (agency_id, kind, identity, label, name, plate, msisdn) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
LINK = (
    "INSERT INTO links (agency_id, kind, entity_id, {col}, valid_from, added_by) "
    "VALUES (%s, %s, %s, %s, %s, 'e2e')"
)


def _id(conn: psycopg.Connection, sql: str, args: tuple[object, ...]) -> int:
    row = conn.execute(sql, args).fetchone()
    assert row is not None
    return int(row[0])


def _seed(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        a = _id(conn, "SELECT id FROM agencies WHERE code = %s", (AGENCY,))
        ids = {
            "person": _id(conn, ENTITY, (a, "person", "P-1", "Шерзод Т.", "Шерзод Т.", None, None)),
            "car": _id(
                conn,
                ENTITY,
                (a, "vehicle", "01KG123ABC", "01 KG 123 ABC", None, "01KG123ABC", None),
            ),
            "phone": _id(
                conn,
                ENTITY,
                (a, "phone", "+996555123456", "+996 555 123456", None, None, "+996555123456"),
            ),
        }
        ids["case"] = _id(
            conn,
            "INSERT INTO cases (agency_id, source, external_id, category, occurred_at, geom) "
            "VALUES (%s, 'e2e', 'DMP-77', 'drug_seizure', '2025-10-02T03:30:00Z', "
            "ST_SetSRID(ST_MakePoint(72.8, 40.5), 4326)) RETURNING id",
            (a,),
        )
        for kind, src, col, dst, since in (
            ("drives", "person", "other_entity_id", ids["car"], "2024-05-01T00:00:00Z"),
            ("uses", "person", "other_entity_id", ids["phone"], None),
            ("seized_in", "car", "case_id", ids["case"], "2025-10-02T03:30:00Z"),
        ):
            conn.execute(LINK.format(col=col), (a, kind, ids[src], dst, since))
    from geomon.store.devices import add_device

    with psycopg.connect(url) as conn:
        cam = add_device(conn, uid="E2E-ANPR-1", kind="sensor", agency=AGENCY)
        for hours in (2, 30):  # two reads of the car's plate in the last 90 days
            conn.execute(
                "INSERT INTO observations (sensor_id, observed_at, kind, text, value, plate_norm) "
                "VALUES (%s, now() - make_interval(hours => %s), 'plate_read', '01 KG 123 ABC', "
                "0.97, '01KG123ABC')",
                (cam.id, hours),
            )
    return ids


@pytest.fixture(scope="module")
def chart_db(pg_base_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    url = create_database(pg_base_url, "geomon_links")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 1, silent=0, agency=AGENCY)
        yield url, _seed(url)
    finally:
        drop_database(pg_base_url, url)


@pytest.fixture(scope="module")
def chart_stack(chart_db: tuple[str, dict[str, int]]) -> Iterator[Stack]:
    with running_stack(chart_db[0]) as s:
        yield s


def _ready(b: Browser, url: str) -> None:
    b.page.goto(url)
    b.page.wait_for_function("window.geomon && geomon.ready", timeout=15000)


def _labels(b: Browser, what: str) -> list[str]:
    return sorted(b.page.evaluate(f"geomon.chart.cy.{what}(':visible').map(e => e.style('label'))"))


def _wait_visible(b: Browser, nodes: int) -> None:
    b.page.wait_for_function(f"geomon.chart.cy.nodes(':visible').length === {nodes}")


def _wait_chart(b: Browser, nodes: int) -> None:
    b.page.wait_for_function(
        f"geomon.chart.cy && geomon.chart.cy.nodes().length === {nodes} && "
        "!document.getElementById('gm-chart').hidden",
        timeout=15000,
    )


def test_russian_chart_from_a_name_and_a_case(
    chart_db: tuple[str, dict[str, int]], chart_stack: Stack, output_dir: Path
) -> None:
    url, ids = chart_db
    cookie = login_cookie_for(url, chart_stack.base_url, AGENCY)
    with browser_page(chart_stack.base_url, cookie, locale="ru-RU", timezone_id="UTC") as b:
        page = b.page
        _ready(b, chart_stack.base_url + "/map")
        assert page.inner_text("#gm-links-head") == "Схема связей"
        page.click("#gm-links-head")
        page.fill("#gm-links-q", "Шерзод")
        page.wait_for_selector("#gm-links-results li")
        assert page.inner_text("#gm-links-results li") == "Лицо: Шерзод Т. (P-1)"
        page.click("#gm-links-results li")
        _wait_chart(b, 4)
        assert page.inner_text("#gm-chart-title") == "Схема связей: Шерзод Т."
        assert page.inner_text("#gm-chart-count") == "узлов: 4, связей: 3"
        assert _labels(b, "nodes") == sorted(
            ["Шерзод Т.", "01 KG 123 ABC", "+996 555 123456", "drug_seizure DMP-77"]
        )
        assert _labels(b, "edges") == sorted(["управляет", "пользуется", "изъят по"])
        assert page.inner_text("#gm-chart-when") == "все даты"
        page.screenshot(path=str(output_dir / "link_chart_ru.png"))

        # the timeline back to the first date: before the seizure, only the person and the car
        page.evaluate(
            "(() => { const s = document.getElementById('gm-chart-time'); s.value = '0';"
            " s.dispatchEvent(new Event('input')); })()"
        )
        assert page.inner_text("#gm-chart-when") == "по 01.05.2024, 06:00:00"
        _wait_visible(b, 3)
        assert _labels(b, "nodes") == sorted(["Шерзод Т.", "01 KG 123 ABC", "+996 555 123456"])
        assert _labels(b, "edges") == sorted(["управляет", "пользуется"])
        page.evaluate(
            "(() => { const s = document.getElementById('gm-chart-time'); s.value = s.max;"
            " s.dispatchEvent(new Event('input')); })()"
        )
        _wait_visible(b, 4)
        assert page.inner_text("#gm-chart-when") == "все даты"

        # a click on the case's node, where it is drawn, shows its details in local time
        box = page.locator("#gm-cy").bounding_box()
        assert box is not None
        pos = page.evaluate(
            f"geomon.chart.cy.getElementById('case-{ids['case']}').renderedPosition()"
        )
        page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
        assert page.inner_text("#gm-chart-details") == (
            "Дело об изъятии · drug_seizure DMP-77 · 02.10.2025, 09:30:00"
        )

        with page.expect_download() as dl:
            page.click("#gm-chart-i2")
        rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
        assert tuple(rows[0]) == I2_COLUMNS and len(rows) == 4

        page.click("#gm-chart-close")
        assert page.is_hidden("#gm-chart")
        page.fill("#gm-links-case", str(ids["case"]))
        page.click("#gm-links-case-open")
        _wait_chart(b, 3)  # the case, the car, then the person (depth 2), not the phone
        assert page.inner_text("#gm-chart-title") == f"Схема связей: дело {ids['case']}"
        assert _labels(b, "nodes") == sorted(["drug_seizure DMP-77", "01 KG 123 ABC", "Шерзод Т."])
        assert b.errors == [] and b.foreign == []


def test_english_chart_opens_from_the_address(
    chart_db: tuple[str, dict[str, int]], chart_stack: Stack
) -> None:
    url, ids = chart_db
    cookie = login_cookie_for(url, chart_stack.base_url, AGENCY)
    with browser_page(chart_stack.base_url, cookie, locale="en-US") as b:
        _ready(b, f"{chart_stack.base_url}/map#entity={ids['car']}")
        _wait_chart(b, 4)
        assert b.page.inner_text("#gm-links-head") == "Link chart"
        assert _labels(b, "edges") == sorted(["drives", "uses", "seized in"])
        assert b.page.inner_text("#gm-chart-count") == "4 nodes, 3 links"
        assert b.page.is_hidden("#gm-chart-reads")
        box = b.page.locator("#gm-cy").bounding_box()
        assert box is not None
        pos = b.page.evaluate(
            f"geomon.chart.cy.getElementById('entity-{ids['car']}').renderedPosition()"
        )
        b.page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
        assert b.page.inner_text("#gm-chart-reads") == "Add its plate reads (90 days)"
        b.page.click("#gm-chart-reads")
        b.page.wait_for_function(
            "document.getElementById('gm-chart-note').textContent === '2 plate reads linked'"
        )
        assert b.page.inner_text("#gm-chart-count") == "6 nodes, 5 links"
        reads = _labels(b, "nodes").count("plate_read 01 KG 123 ABC")
        assert reads == 2 and _labels(b, "edges").count("seen in") == 2
        assert b.errors == [] and b.foreign == []
