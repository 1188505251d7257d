"""Screenshots of the Russian console for docs/: the region and the Afghan–Tajik border.

Run: ``GEOMON_DB__URL=$(scripts/dev-db) .venv/bin/python scripts/console_screenshots.py``.
Makes a throwaway database with the reference data and a few Tajik teams near their patrol
sites, starts ``geomon serve`` on it, and saves what a Russian-reading duty officer sees at the
region zoom and at the border zoom (Khorog on the Panj) as PNG under docs/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import create_database, drop_database, prepare_database  # noqa: E402
from tests.e2e import map_seed  # noqa: E402
from tests.e2e.map_stack import browser_page, login_cookie_for, running_stack  # noqa: E402

AGENCY = "TJK-BS"
VIEWS = {
    "console-ru-region.png": ((40.5, 67.5), 5),
    "console-ru-border.png": ((37.49, 71.55), 10),  # Khorog: the Panj is the border
}


def _settle(page: object) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { let busy = false; geomonMap.eachLayer(l => { if (l.isLoading && l.isLoading()) "
        "busy = true; }); return !busy; }",
        timeout=20000,
    )
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]


def main() -> None:
    base = os.environ["GEOMON_DB__URL"]
    url = create_database(base, "geomon_shots")
    try:
        prepare_database(url)
        map_seed.seed_teams(url, 6, silent=1, agency=AGENCY)
        map_seed.seed_layers(url, incidents=300, agency=AGENCY)
        with running_stack(url) as stack:
            cookie = login_cookie_for(url, stack.base_url, AGENCY)
            with browser_page(stack.base_url, cookie, locale="ru-RU") as b:
                b.page.goto(stack.base_url + "/map")
                b.page.wait_for_function("window.geomon && geomon.ready", timeout=20000)
                for name, ((lat, lon), zoom) in VIEWS.items():
                    b.page.evaluate(
                        "([lat, lon, z]) => geomonMap.setView([lat, lon], z, {animate: false})",
                        [lat, lon, zoom],
                    )
                    _settle(b.page)
                    b.page.screenshot(path=str(ROOT / "docs" / name))
                    print(f"docs/{name}")
                if b.errors or b.foreign:
                    raise SystemExit(f"console errors {b.errors}, foreign requests {b.foreign}")
    finally:
        drop_database(base, url)


if __name__ == "__main__":
    main()
