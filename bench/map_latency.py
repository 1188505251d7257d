"""Situation-map latency: the page's load time with 500 devices, 20,000 incidents and the
offline basemap, and NMEA fixes sent over the real TCP listener, timed until the marker in a
real browser (Debian chromium, logged in) has moved. Targets (issue 20): load median <= 1.5 s,
fix -> marker p95 <= 1 s.

A page load is timed three times: "ready" (the page's own figure: navigation start until the
map is ready with every team's marker, ``geomon.readyAtMs``), "drawn" (until the basemap's
tiles in view, fills and labels, have also loaded and drawn) and "clustered" (the incidents
cluster in chunks once the page is up: until the last chunk). Baselines measured in the same run:
the same page for an agency that sees nothing (no teams, no incidents: the basemap alone),
and, for fixes, the time until the fix is committed (the ``geomon_live`` NOTIFY that the batch
writer sends on commit, received by a LISTEN connection): the ratio map/commit shows what the
API, live transport and browser add on top of ingest. Every figure comes with the load average
(the host is shared).

    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/map_latency.py [--devices 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import create_database, drop_database, prepare_database  # noqa: E402
from tests.e2e import map_seed  # noqa: E402
from tests.e2e.map_stack import browser_page, login_cookie_for, nmea_fix, open_map, running_stack  # noqa: E402

AGENCY = map_seed.AGENCY_CODES[0]
STEP_DEG = 2e-4  # each fix moves the team north by ~22 m, so every fix is a distinct position


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


async def _drive(
    uids: list[str],
    start: dict[str, tuple[float, float]],
    nmea: tuple[str, int],
    seconds: int,
    sent: dict[tuple[str, int], float],
) -> None:
    async def one(uid: str, offset: float) -> None:
        _, writer = await asyncio.open_connection(*nmea)
        await asyncio.sleep(offset)
        lat, lon = start[uid]
        for k in range(1, seconds + 1):
            t = datetime.now(UTC).replace(microsecond=0)
            writer.write(nmea_fix(uid, t, lat + k * STEP_DEG, lon, 12.0, 0.0))
            await writer.drain()
            sent[(uid, k)] = time.time()
            await asyncio.sleep(1.0)
        writer.close()

    n = len(uids)
    await asyncio.gather(*(one(u, i / n) for i, u in enumerate(uids)))


def _listen(
    url: str, ids: set[int], commits: dict[int, list[float]], stop: threading.Event
) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("LISTEN geomon_live")
        while not stop.is_set():
            for note in conn.notifies(timeout=0.5):
                now = time.time()
                for d in json.loads(note.payload).get("devices", []):
                    if d in ids:
                        commits.setdefault(d, []).append(now)


# The basemap's two protomaps layers (fills, labels) have no tile left to load or draw.
BASEMAP_DRAWN_JS = """() => {
  const b = geomon.basemap;
  if (!b) return false;
  return [b.gmBase, b.gmLabels].every(l => !l._loading && Object.keys(l._tiles).length > 0
    && Object.values(l._tiles).every(t => t.loaded));
}"""


def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}/{fifteen:.1f}"


def measure_load(
    base_url: str, cookie: str | None, n: int, runs: int = 3
) -> list[tuple[float, float, float, str]]:
    """(ready, drawn, clustered, load average) of ``runs`` fresh page loads: navigation start
    → map ready with ``n`` team markers, → the basemap in view drawn too, → the last chunk of
    incidents clustered."""
    out = []
    for _ in range(runs):
        with browser_page(base_url, cookie) as b:
            ready = open_map(b, base_url, min_teams=n, timeout_ms=60000)
            b.page.wait_for_function(BASEMAP_DRAWN_JS, timeout=60000, polling="raf")
            drawn = float(b.page.evaluate("performance.now()")) / 1000
            # a page that clusters in one go (before chunkedLoading) was done when ready
            b.page.wait_for_function(
                "!('incidentsClusteredAtMs' in geomon) || geomon.incidentsClusteredAtMs != null",
                timeout=60000,
            )
            clustered = (
                float(b.page.evaluate("geomon.incidentsClusteredAtMs ?? geomon.readyAtMs")) / 1000
            )
            assert not b.foreign, b.foreign
            assert not b.errors, b.errors
            out.append((ready, drawn, clustered, load_avg()))
    return out


def _print_loads(label: str, loads: list[tuple[float, float, float, str]]) -> tuple[float, float]:
    for i, (ready, drawn, clustered, load) in enumerate(loads, 1):
        print(
            f"  {label} run {i}: ready {ready:.2f} s, basemap drawn {drawn:.2f} s, "
            f"incidents clustered {clustered:.2f} s ({load})"
        )
    ready_m = statistics.median(r for r, _, _, _ in loads)
    drawn_m = statistics.median(d for _, d, _, _ in loads)
    print(f"  {label} median: ready {ready_m:.2f} s, drawn {drawn_m:.2f} s")
    return ready_m, drawn_m


def measure_latency(
    db_url: str, stack, cookie: str | None, ids: dict[str, int], seconds: int
) -> tuple[list[float], list[float], str]:
    uids = list(ids)
    with browser_page(stack.base_url, cookie) as b:
        open_map(b, stack.base_url, min_teams=len(uids), timeout_ms=60000)
        b.page.wait_for_timeout(1500)  # the live stream connects (or falls back to polling)
        mode = b.page.evaluate(
            "geomon.liveMode === 'sse' ? 'SSE ' + geomon.config.urls.liveSse "
            ": 'polling every ' + geomon.config.pollMs + ' ms'"
        )
        start = {
            u: tuple(
                b.page.evaluate(
                    f"(() => {{ const l = geomon.teamLayers['{i}']"
                    ".getLatLng(); return [l.lat, l.lng]; })()"
                )
            )
            for u, i in ids.items()
        }
        b.page.evaluate(
            "window.__moves = []; geomon.onTeamUpdate.push((id, ll) => "
            "window.__moves.push([id, ll.lat, Date.now()]))"
        )
        sent: dict[tuple[str, int], float] = {}
        commits: dict[int, list[float]] = {}
        stop = threading.Event()
        listener = threading.Thread(target=_listen, args=(db_url, set(ids.values()), commits, stop))
        listener.start()
        # Playwright's sync API owns this thread's event loop: drive the fleet in another
        driver = threading.Thread(
            target=lambda: asyncio.run(_drive(uids, start, stack.nmea, seconds, sent))
        )
        driver.start()
        while driver.is_alive():
            b.page.wait_for_timeout(200)  # keep the page's events flowing to Python
        time.sleep(3)
        stop.set()
        listener.join()
        moves = b.page.evaluate("window.__moves")
    return _match(ids, start, sent, moves, commits) + (mode,)


def _match(ids, start, sent, moves, commits) -> tuple[list[float], list[float]]:
    by_dev: dict[str, list[tuple[float, float]]] = {}
    for dev, lat, t_ms in moves:
        by_dev.setdefault(str(dev), []).append((lat, t_ms / 1000))
    browser, commit = [], []
    for (uid, k), t_sent in sent.items():
        target = start[uid][0] + k * STEP_DEG
        # the first time the marker reached this fix (or a later one: skipped frames count)
        seen = [t for lat, t in by_dev.get(str(ids[uid]), []) if lat >= target - STEP_DEG / 4]
        if seen:
            browser.append(min(seen) - t_sent)
        done = [t for t in commits.get(ids[uid], []) if t >= t_sent]
        if done:
            commit.append(min(done) - t_sent)
    return browser, commit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--load-devices", type=int, default=500)
    ap.add_argument("--incidents", type=int, default=20_000)
    ap.add_argument("--no-live", action="store_true", help="only the page-load part")
    ap.add_argument("--runs", type=int, default=5, help="page loads of each kind")
    args = ap.parse_args()

    base = os.environ["GEOMON_DB__URL"]
    url = create_database(base, "geomon_bench_map")
    try:
        prepare_database(url)  # with the basemap's context layers (data/reference)
        ids = map_seed.seed_teams(url, args.load_devices, track_points=2, silent=0, agency=AGENCY)
        map_seed.seed_layers(url, incidents=args.incidents, agency=AGENCY)
        with running_stack(url) as stack:
            cookie = login_cookie_for(url, stack.base_url, AGENCY)
            print(
                f"page load with {args.load_devices} devices, {args.incidents} incidents, "
                f"the demo layers and the basemap ({load_avg()}):"
            )
            loads = measure_load(stack.base_url, cookie, args.load_devices, args.runs)
            ready, drawn = _print_loads("full", loads)
            # baseline: the same page for an agency that owns nothing (no teams, no layers)
            empty = measure_load(
                stack.base_url,
                login_cookie_for(url, stack.base_url, map_seed.AGENCY_CODES[2]),
                0,
                args.runs,
            )
            ready0, drawn0 = _print_loads("baseline (nothing visible but the basemap)", empty)
            print(
                f"page load median: ready {ready:.2f} s, drawn {drawn:.2f} s (target <= 1.5 s); "
                f"ratio to the baseline {ready / ready0:.2f}x ready, {drawn / drawn0:.2f}x drawn"
            )
            if args.no_live:
                return
            moving = dict(list(ids.items())[: args.devices])
            before = load_avg()
            lat, base_lat, mode = measure_latency(url, stack, cookie, moving, args.seconds)
        sent_n = args.devices * args.seconds
        print(f"live mode: {mode}")
        print(
            f"{args.devices} devices x {args.seconds} s at 1 Hz: {len(lat)}/{sent_n} fixes seen "
            f"moving a marker, {len(base_lat)} commits seen ({before} before, {load_avg()} after)"
        )
        print(
            f"fix sent -> browser marker moved: p50 {pct(lat, 50):.3f} s, "
            f"p95 {pct(lat, 95):.3f} s (target <= 1 s), max {max(lat):.3f} s"
        )
        print(
            f"baseline fix sent -> committed (NOTIFY): p50 {pct(base_lat, 50):.3f} s, "
            f"p95 {pct(base_lat, 95):.3f} s"
        )
        print(
            f"ratio map/commit: p50 {pct(lat, 50) / pct(base_lat, 50):.1f}x, "
            f"p95 {pct(lat, 95) / pct(base_lat, 95):.1f}x"
        )
    finally:
        drop_database(base, url)


if __name__ == "__main__":
    main()
