"""The event engine on constructed tracks: every event kind, and late / shuffled / resent
data giving exactly the events of the same track reported live."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import box, shape

from geomon.alerts import AgencyRules, BorderIndex, BorderLine, Track, Zone, ZoneIndex, evaluate
from geomon.alerts.device_state import silent_events
from geomon.alerts.track import EventDraft, to_us
from geomon.reference import NE_BORDER_ACCURACY_M, read_features

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
RULES = AgencyRules.build()


def fixes(
    dev: int,
    pts: list[tuple[float, float]],
    *,
    step_s: float = 60,
    speed: float = 5.0,
    attrs: list[dict] | None = None,
    t0: datetime = T0,
) -> list[tuple]:
    return [
        (dev, t0 + timedelta(seconds=i * step_s), x, y, speed, (attrs[i] if attrs else {}))
        for i, (x, y) in enumerate(pts)
    ]


def kinds(events: list[EventDraft]) -> list[tuple[str, int | None, int]]:
    return [(e.kind, e.zone_id, int((e.occurred_at - T0).total_seconds() // 60)) for e in events]


ZONES = ZoneIndex(
    [Zone(1, "patrol_area", box(0, 0, 1, 1), "A"), Zone(2, "restricted", box(2, 0, 3, 1), "R")]
)


def test_enter_exit_at_the_fix_that_changes_membership() -> None:
    track = Track.from_rows(fixes(7, [(-0.5, 0.5), (0.5, 0.5), (0.6, 0.5), (1.5, 0.5)]))
    ev = evaluate(track, ZONES, RULES)
    assert kinds(ev) == [("zone_enter", 1, 1), ("zone_exit", 1, 3)]
    assert [e.severity for e in ev] == ["info", "warning"]  # patrol_area exit is a warning


def test_sparse_fix_jumping_over_a_zone_is_a_cross() -> None:
    track = Track.from_rows(fixes(7, [(1.5, 0.5), (3.5, 0.5)]))
    ev = evaluate(track, ZONES, RULES)
    assert kinds(ev) == [("zone_cross", 2, 1)]
    assert ev[0].severity == "critical"


def test_first_fix_inside_has_no_predecessor_and_context_fixes_do_not_emit() -> None:
    rows = fixes(7, [(0.5, 0.5), (0.6, 0.6), (1.5, 0.5)])
    assert kinds(evaluate(Track.from_rows(rows), ZONES, RULES)) == [("zone_exit", 1, 2)]
    ctx = Track.from_rows(fixes(7, [(-1, 0.5), (0.5, 0.5)]), emit=[False, False])
    assert evaluate(ctx, ZONES, RULES) == []


def test_devices_do_not_leak_into_each_other() -> None:
    rows = fixes(1, [(0.5, 0.5)]) + fixes(2, [(1.5, 0.5)])
    assert evaluate(Track.from_rows(rows), ZONES, RULES) == []


def test_io_flags_fire_once_per_onset() -> None:
    flags = [
        {},
        {"jamming": 1},
        {"jamming": 1},
        {"jamming": 0},
        {"jamming": 1},
        {"alarm": "sos"},
        {"unplug": 1, "tamper": True},
    ]
    track = Track.from_rows(fixes(3, [(5, 5)] * 7, attrs=flags))
    ev = evaluate(track, ZONES, RULES)
    assert kinds(ev) == [
        ("gsm_jamming", None, 1),
        ("gsm_jamming", None, 4),
        ("sos", None, 5),
        ("power_cut", None, 6),
        ("tamper", None, 6),
    ]
    assert {e.severity for e in ev if e.kind in ("sos", "gsm_jamming")} == {"critical"}


def test_overspeed_onset_only() -> None:
    rows = [
        (3, T0 + timedelta(minutes=i), 5.0, 5.0, s, {}) for i, s in enumerate([10, 40, 41, 20, 37])
    ]
    assert kinds(evaluate(Track.from_rows(rows), ZONES, RULES)) == [
        ("overspeed", None, 1),
        ("overspeed", None, 4),
    ]


def test_long_stop_inside_a_border_strip() -> None:
    strip = ZoneIndex([Zone(9, "border_strip", box(0, 0, 1, 1), "S")])
    pts = [(-0.5, 0.5)] + [(0.5, 0.5)] * 30 + [(1.5, 0.5)]
    rows = fixes(4, pts, speed=0.0)
    ev = evaluate(Track.from_rows(rows), strip, RULES)
    # stopped inside from minute 1; 20 minutes later (minute 21) the stop event fires once
    assert kinds(ev) == [("zone_enter", 9, 1), ("stop_in_zone", 9, 21), ("zone_exit", 9, 31)]
    moving = evaluate(Track.from_rows(fixes(4, pts, speed=3.0)), strip, RULES)
    assert [e.kind for e in moving] == ["zone_enter", "zone_exit"]


def test_zone_rules_override_and_off() -> None:
    z = ZoneIndex([Zone(1, "patrol_area", box(0, 0, 1, 1), "A", rules={"enter": "off"})])
    track = Track.from_rows(fixes(7, [(-0.5, 0.5), (0.5, 0.5), (1.5, 0.5)]))
    assert kinds(evaluate(track, z, RULES)) == [("zone_exit", 1, 2)]


def test_silent_only_on_duty_and_within_limits() -> None:
    now = T0 + timedelta(hours=1)
    last = {1: (T0, 1.0, 2.0), 2: (now - timedelta(minutes=5), 0, 0), 3: (T0, 0, 0)}
    ev = silent_events(now, last, on_duty=[1, 2], rules_of={1: RULES, 2: RULES, 3: RULES})
    assert [(e.kind, e.device_id, e.dedupe_key) for e in ev] == [("silent", 1, "silent:1")]


# --- late, shuffled, resent --------------------------------------------------------------


def replay(
    batches: list[list[tuple]], zones: ZoneIndex, lookback_s: float = 3600
) -> dict[str, EventDraft]:
    """What the store does per committed batch: store fixes, reload each device's window
    (new fixes plus stored neighbours), recompute, replace the events of the window."""
    stored: dict[tuple[int, datetime], tuple] = {}
    events: dict[str, EventDraft] = {}
    for batch in batches:
        for r in batch:
            stored.setdefault((r[0], r[1]), r)
        for dev in {r[0] for r in batch}:
            times = sorted(t for d, t in stored if d == dev)
            mine = [r[1] for r in batch if r[0] == dev]
            lo, hi = min(mine), max(mine)
            prev = max((t for t in times if t < lo), default=None)
            nxt = min((t for t in times if t > hi), default=None)
            start = lo if prev is None else prev - timedelta(seconds=lookback_s)
            end = hi if nxt is None else nxt
            window = [stored[(dev, t)] for t in times if start <= t <= end]
            emit = [prev is None or r[1] > prev for r in window]
            fresh = {e.key: e for e in evaluate(Track.from_rows(window, emit=emit), zones, RULES)}
            first = lo if prev is None else prev + timedelta(microseconds=1)
            for k in [
                k
                for k, e in events.items()
                if e.device_id == dev and first <= e.occurred_at <= end and k not in fresh
            ]:
                del events[k]
            events.update(fresh)
    return events


def _long_track() -> list[tuple]:
    rng = random.Random(3)
    xs = np.cumsum([rng.uniform(-0.3, 0.45) for _ in range(80)]) - 1
    ys = 0.5 + np.array([rng.uniform(-0.6, 0.6) for _ in range(80)])
    flags = [{"jamming": int(rng.random() < 0.2)} for _ in range(80)]
    return fixes(
        5, list(zip(xs.tolist(), ys.tolist(), strict=True)), attrs=flags, speed=0.0
    ) + fixes(6, [(0.5, 0.5), (2.5, 0.5), (5, 5)])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_late_shuffled_and_resent_batches_give_the_live_events(seed: int) -> None:
    rows = _long_track()
    live = replay([[r] for r in rows], ZONES)
    expected = {e.key for e in evaluate(Track.from_rows(rows), ZONES, RULES)}
    assert set(live) == expected and len(expected) > 10
    rng = random.Random(seed)
    shuffled = rows[:]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), 15))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    resent = batches + [rng.sample(rows, 20), rows[:10]]  # resends, some overlapping
    assert set(replay(resent, ZONES)) == expected


def test_keys_are_deterministic_per_device_zone_kind_time() -> None:
    rows = fixes(7, [(-0.5, 0.5), (0.5, 0.5)])
    a = evaluate(Track.from_rows(rows), ZONES, RULES)
    b = evaluate(Track.from_rows(list(reversed(rows))), ZONES, RULES)
    assert [e.key for e in a] == [e.key for e in b] == [f"zone_enter:7:z1:{to_us(rows[1][1])}"]


# --- border crossings on the real Natural Earth lines ---------------------------------------


def _borders(crossing_points: list, home: str | None = None) -> BorderIndex:
    countries = {
        f["properties"]["iso_a3"]: shape(f["geometry"])
        for f in read_features(REFERENCE / "countries_ne10m.geojson")
    }
    lines = []
    for f in read_features(REFERENCE / "borders_ne10m.geojson"):
        a, b = sorted((f["properties"]["a"], f["properties"]["b"]))
        line = shape(f["geometry"])
        lines.append(
            BorderLine(f"{a}-{b}", a, b, line, countries[a], countries[b], NE_BORDER_ACCURACY_M)
        )
    return BorderIndex(lines, crossing_points, home)


def _afg_tjk() -> object:
    feats = read_features(REFERENCE / "borders_ne10m.geojson")
    return next(
        shape(f["geometry"])
        for f in feats
        if {f["properties"]["a"], f["properties"]["b"]} == {"AFG", "TJK"}
    )


def _across(line: object, frac: float, off: float = 0.01) -> list[tuple[float, float]]:
    """Two points either side of ``line`` at ``frac`` of its length (perpendicular offset)."""
    p = line.interpolate(frac, normalized=True)
    q = line.interpolate(frac + 1e-4, normalized=True)
    dx, dy = q.x - p.x, q.y - p.y
    n = np.hypot(dx, dy)
    nx, ny = -dy / n * off, dx / n * off
    return [(p.x - nx, p.y - ny), (p.x + nx, p.y + ny)]


def test_crossing_afg_tjk_away_from_a_crossing_point_is_critical() -> None:
    line = _afg_tjk()
    bcp = shapely.Point(68.583, 37.2)  # Panji Poyon (places_central_asia.csv)
    at = line.interpolate(line.project(bcp))
    zone = at.buffer(0.05)
    borders = _borders([zone])
    far = _across(line, 0.6, off=0.04)  # ~4 km either side: past the 2,050 m tolerance
    assert zone.distance(shapely.LineString(far)) > 0.5
    ev = evaluate(Track.from_rows(fixes(8, far)), ZoneIndex([]), RULES, borders)
    assert [(e.kind, e.severity, e.attrs["border"]) for e in ev] == [
        ("border_cross", "critical", "AFG-TJK")
    ]
    assert (ev[0].lon, ev[0].lat) == far[1]  # where the team is once past the depth
    frac = line.project(at, normalized=True)
    through = _across(line, frac, off=0.04)
    assert evaluate(Track.from_rows(fixes(8, through)), ZoneIndex([]), RULES, borders) == []
    # same track without any crossing-point zone: critical again
    nozone = evaluate(Track.from_rows(fixes(8, through)), ZoneIndex([]), RULES, _borders([]))
    assert [e.kind for e in nozone] == ["border_cross"]


def test_staying_on_one_side_is_not_a_crossing() -> None:
    line = _afg_tjk()
    a, b = _across(line, 0.3)
    track = Track.from_rows(fixes(8, [a, a, (a[0] + 0.001, a[1])]))
    assert evaluate(track, ZoneIndex([]), RULES, _borders([])) == []
    assert b != a


def test_track_from_rows_sorts_columns_together() -> None:
    """Shuffled rows of several devices, None speeds, emit flags and attrs: every column is
    reordered by (device, time) with the same permutation."""
    import random

    rng = random.Random(7)
    rows = [
        (
            d,
            T0 + timedelta(seconds=i),
            float(i),
            float(d),
            None if i % 3 else i / 2,
            {"n": (d, i)} if i % 2 else None,
        )
        for d in (5, 2, 9)
        for i in range(20)
    ]
    emit = [r[1].second % 4 == 0 for r in rows]
    pairs = list(zip(rows, emit, strict=True))
    rng.shuffle(pairs)
    track = Track.from_rows([p[0] for p in pairs], emit=[p[1] for p in pairs])
    expect = sorted(pairs, key=lambda p: (p[0][0], p[0][1]))
    assert track.device.tolist() == [p[0][0] for p in expect]
    assert track.t_us.tolist() == [int(p[0][1].timestamp()) * 1_000_000 for p in expect]
    assert track.lon.tolist() == [p[0][2] for p in expect]
    assert track.lat.tolist() == [p[0][3] for p in expect]
    speeds = [p[0][4] for p in expect]
    assert [None if s != s else s for s in track.speed_mps.tolist()] == speeds  # NaN = None
    assert list(track.attrs) == [p[0][5] or {} for p in expect]
    assert track.emit is not None and track.emit.tolist() == [p[1] for p in expect]
    assert len(Track.from_rows([])) == 0


def test_a_team_with_a_home_country_raises_going_out_not_coming_back() -> None:
    line = _afg_tjk()
    a, b = _across(line, 0.4, off=0.04)
    tjk = _borders([]).lines.borders[0].side_b  # AFG-TJK: a = AFG, b = TJK
    home_side, far_side = (a, b) if tjk.contains(shapely.Point(a)) else (b, a)
    out_and_back = Track.from_rows(fixes(8, [home_side, far_side, far_side, home_side]))
    ev = evaluate(out_and_back, ZoneIndex([]), RULES, _borders([], home="TJK"))
    assert [(e.kind, e.attrs["border"], e.lon, e.lat) for e in ev] == [
        ("border_cross", "AFG-TJK", *far_side)
    ]
    # an Afghan team's home is the other bank; an Uzbek team answers only for its borders
    ev = evaluate(out_and_back, ZoneIndex([]), RULES, _borders([], home="AFG"))
    assert [(e.lon, e.lat) for e in ev] == [home_side]
    assert evaluate(out_and_back, ZoneIndex([]), RULES, _borders([], home="UZB")) == []
