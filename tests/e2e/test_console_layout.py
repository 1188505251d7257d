"""The console's panels never cover each other: at a situation-centre screen (1400×850) and a
laptop (1280×720), in Russian and English, for an admin (who sees every panel), no two visible
panels' boxes overlap — what a person would see as one panel hiding another's buttons."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest

from tests.conftest import create_database, drop_database, prepare_database
from tests.e2e import map_seed
from tests.e2e.map_stack import Stack, browser_page, running_stack
from tests.helpers.auth import login_cookie, make_user

pytestmark = pytest.mark.browser
AGENCY = "KGZ-BS"

# What is on screen of each panel: its box cut to its corner's box (a corner scrolls when its
# panels are taller than its share of the map).
BOXES = """() => [...document.querySelectorAll('.leaflet-control-container .leaflet-control')]
  .filter(el => el.offsetParent !== null && el.getBoundingClientRect().width > 0)
  .map(el => { const r = el.getBoundingClientRect(), c = el.parentElement.getBoundingClientRect();
    return {id: el.id || el.className.split(' ').slice(0, 2).join('.'),
            l: Math.max(r.left, c.left), t: Math.max(r.top, c.top),
            r: Math.min(r.right, c.right), b: Math.min(r.bottom, c.bottom),
            corner: el.parentElement.className,
            cut: (h => !!h && h.getBoundingClientRect().bottom > r.bottom + 1)(
                 el.querySelector('.gm-head'))}; })
  .filter(b => b.r > b.l && b.b > b.t)"""
# A corner's own scroll range: every panel in it can be brought into view.
CORNERS = """() => [...document.querySelectorAll('.leaflet-control-container > div')]
  .map(c => ({cls: c.className, scroll: c.scrollHeight, client: c.clientHeight,
              overflow: getComputedStyle(c).overflowY}))"""


@pytest.fixture(scope="module")
def layout_stack(pg_base_url: str) -> Iterator[tuple[str, Stack]]:
    url = create_database(pg_base_url, "geomon_layout")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 8, silent=1, agency=AGENCY)
        with running_stack(url) as s:
            yield url, s
    finally:
        drop_database(pg_base_url, url)


def _overlaps(boxes: list[dict]) -> list[str]:
    out = []
    for a, b in combinations(boxes, 2):
        w = min(a["r"], b["r"]) - max(a["l"], b["l"])
        h = min(a["b"], b["b"]) - max(a["t"], b["t"])
        if w > 1 and h > 1:
            out.append(f"{a['id']} and {b['id']} overlap by {w:.0f}×{h:.0f} px")
    return out


@pytest.mark.parametrize("viewport", [(1400, 850), (1280, 720)], ids=["1400x850", "1280x720"])
@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_no_panel_covers_another(
    layout_stack: tuple[str, Stack], viewport: tuple[int, int], locale: str, output_dir: Path
) -> None:
    url, stack = layout_stack
    name, password, _ = make_user(url, role="admin", agency=AGENCY)
    cookie = login_cookie(stack.base_url, name, password)
    with browser_page(stack.base_url, cookie, viewport, locale=locale) as b:
        page = b.page
        page.goto(stack.base_url + "/map")
        page.wait_for_function("window.geomon && geomon.ready")
        page.wait_for_timeout(500)  # panels that fill after their first request
        page.screenshot(path=str(output_dir / f"layout-{locale}-{viewport[0]}x{viewport[1]}.png"))
        boxes = page.evaluate(BOXES)
        assert len(boxes) >= 8, boxes  # search, teams, events, legend, replay, … are there
        assert _overlaps(boxes) == []
        assert [b["id"] for b in boxes if b["cut"]] == [], "panels squeezed below their own heading"
        # every panel stays inside the window, and a corner whose panels are taller than its
        # share scrolls (so the panels it holds can still be reached)
        for box in boxes:
            assert box["t"] >= 0 and box["l"] >= 0, box
            assert box["r"] <= viewport[0] + 1 and box["b"] <= viewport[1] + 1, box
        for corner in page.evaluate(CORNERS):
            if corner["scroll"] > corner["client"] + 1:
                assert corner["overflow"] in ("auto", "scroll"), corner
