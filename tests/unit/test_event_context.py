"""The ingest hook hands the engine only the context it needs (from the last fix that is not
slow): on random tracks through zones, with stops, jamming, overspeed and a border, the
drafts are exactly those of the whole lookback window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import LineString, box

from geomon.alerts import AgencyRules, BorderIndex, BorderLine, Zone, ZoneIndex
from geomon.pipeline import eventing
from geomon.pipeline.eventing import compute, context_start
from geomon.store.event_inputs import EngineContext, Window

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ZONES = ZoneIndex(
    [
        Zone(1, "border_strip", box(0, 0, 1, 1), "S"),
        Zone(2, "restricted", box(1.2, 0, 1.4, 1), "R", {"stop_minutes": 5}),
        Zone(3, "border_strip", box(0.5, 0.5, 2, 2), "T"),
    ]
)
BORDERS = BorderIndex(
    [BorderLine("X-Y", "X", "Y", LineString([(1.1, -1), (1.1, 3)]), box(-9, -1, 1.1, 3), None)]
)
CTX = EngineContext(
    {None: ZONES},
    {None: BORDERS},
    {7: AgencyRules.build({"stop_zone_kinds": ["border_strip", "restricted"]})},
    AgencyRules.build(),
)


def _window(seed: int) -> Window:
    """Stays (slow fixes, sometimes a missing or NaN speed, now and then one fast blip) and
    drives between places in and around the zones; the batch starts at a random fix."""
    rng = random.Random(seed)
    rows, t = [], T0
    while len(rows) < rng.randint(20, 150):
        x, y = rng.uniform(-0.2, 1.6), rng.uniform(-0.2, 1.2)
        for _ in range(rng.randint(1, 40)):  # a stay of up to 40 fixes a minute or so apart
            t += timedelta(seconds=rng.choice([20, 60, 60, 90]))
            r = rng.random()
            speed = (
                None
                if r < 0.05
                else float("nan")
                if r < 0.08
                else rng.uniform(2, 30)
                if r < 0.12
                else rng.uniform(0, 0.6)
            )
            rows.append(
                (
                    9,
                    t,
                    x + rng.uniform(-1e-3, 1e-3),
                    y,
                    speed,
                    {"jamming": rng.random() < 0.1, "sos": rng.random() < 0.03},
                )
            )
        for _ in range(rng.randint(0, 3)):  # a drive
            t += timedelta(seconds=rng.choice([30, 60]))
            rows.append(
                (9, t, rng.uniform(-0.2, 1.6), rng.uniform(-0.2, 1.2), rng.uniform(3, 45), {})
            )
    cut = rng.randrange(len(rows))
    prev = rows[cut - 1][1] if cut else None
    return Window(
        9,
        rng.choice([7, 8]),
        prev,
        (prev or rows[0][1]) + timedelta(microseconds=1),
        rows[-1][1],
        rows,
    )


@pytest.mark.parametrize("seed", range(300))
def test_trimmed_context_gives_the_drafts_of_the_whole_window(seed: int, monkeypatch) -> None:
    w = _window(seed)
    trimmed, keys = compute([w], CTX)
    monkeypatch.setattr(eventing, "context_start", lambda w, v: 0)
    whole, whole_keys = compute([w], CTX)
    assert [(d.key, d.kind, d.occurred_at, d.attrs) for d in trimmed] == [
        (d.key, d.kind, d.occurred_at, d.attrs) for d in whole
    ]
    assert keys == whole_keys


def test_context_starts_at_the_last_fix_that_is_not_slow() -> None:
    rows = [
        (9, T0 + timedelta(minutes=m), 0.5, 0.5, v, {})
        for m, v in enumerate([3.0, 0.1, 5.0, None, 0.2, float("nan"), 0.1, 8.0])
    ]
    w = Window(9, 7, rows[6][1], rows[6][1], rows[-1][1], rows)
    assert context_start(w, 0.5) == 2  # None, 0.2, NaN, 0.1 are slow
    assert context_start(Window(9, 7, None, T0, T0, rows), 0.5) == 0
    slow = [r[:4] + (0.0, {}) for r in rows]
    assert context_start(Window(9, 7, rows[6][1], T0, T0, slow), 0.5) == 0


@pytest.mark.parametrize("seed", range(40))
def test_one_track_per_agency_gives_the_drafts_of_one_track_per_window(seed: int) -> None:
    windows = []
    for i in range(6):
        w = _window(seed * 10 + i)
        w.device_id = 100 + i
        w.rows = [(100 + i, *r[1:]) for r in w.rows]
        windows.append(w)

    def drafts(ds: list) -> list:
        return sorted((d.key, d.kind, d.device_id, d.occurred_at, str(d.attrs)) for d in ds)

    together, keys = compute(windows, CTX)
    alone = [d for w in windows for d in compute([w], CTX)[0]]
    assert drafts(together) == drafts(alone)
    assert keys == {d.key for d in alone}
