"""The demo fleet's regular patrols raise no border_cross (issue 20): two laps of every team
against the Natural Earth lines, with the demo's home countries and its 10 km crossing-point
zones round road and rail BCPs — even with no tolerance at all, since the loops of teams
round dry ports keep clear of the lines. The Khorog dry port team keeps its loop off the Panj
(before, it drove 1.3 km into Afghanistan on the 1:10m polygons twice a lap)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import shapely
from shapely import affinity
from shapely.geometry import shape

from geomon.alerts import AgencyRules, BorderIndex, BorderLine, Track, ZoneIndex, evaluate
from geomon.demo import AGENCIES, demo_teams
from geomon.reference import NE_BORDER_ACCURACY_M, patrol_sites, read_features, read_places
from sensors.simulate import load_patrol_sites, make_fleet
from sensors.simulate_clear import CLEARANCE_M, border_lines

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
PLACES = REFERENCE / "places_central_asia.csv"
M_PER_DEG = 111_320.0


def _lines() -> list[BorderLine]:
    countries = {
        f["properties"]["iso_a3"]: shape(f["geometry"])
        for f in read_features(REFERENCE / "countries_ne10m.geojson")
    }
    out = []
    for f in read_features(REFERENCE / "borders_ne10m.geojson"):
        a, b = sorted((f["properties"]["a"], f["properties"]["b"]))
        out.append(
            BorderLine(
                f"{a}-{b}",
                a,
                b,
                shape(f["geometry"]),
                countries[a],
                countries[b],
                NE_BORDER_ACCURACY_M,
            )
        )
    return out


def _crossing_zones() -> list[object]:
    """Discs of max(10 km, accuracy) round road and rail BCPs (geomon demo-data)."""
    zones = []
    for p in read_places(PLACES):
        if p.kind in ("road_bcp", "rail_bcp"):
            r = max(10_000.0, p.accuracy_m or 0.0) / M_PER_DEG
            disc = shapely.Point(p.lon, p.lat).buffer(r, 64)
            zones.append(affinity.scale(disc, 1 / math.cos(math.radians(p.lat)), 1.0))
    return zones


@pytest.mark.parametrize("tolerance", ["default", "none"])
def test_two_laps_of_every_demo_team_raise_no_border_cross(tolerance: str) -> None:
    sites = load_patrol_sites(PLACES)
    n = len(sites)
    fleet = make_fleet(n, sites, borders=border_lines(REFERENCE))
    home = {code: iso for iso, (code, _) in AGENCIES.items()}
    agency = dict(demo_teams(read_places(PLACES), n))
    lines, zones = _lines(), _crossing_zones()
    rules = AgencyRules.build(
        {"border_cross_depth_m": {b.code: 0 for b in lines}, "border_cross_margin_m": 0}
        if tolerance == "none"
        else {}
    )
    rng = random.Random(3)
    t0 = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1e6)
    raised = {}
    for dev, team in enumerate(fleet):
        lap_m = sum(
            math.dist(a, b) * M_PER_DEG
            for a, b in zip(team.waypoints, team.waypoints[1:], strict=False)
        )
        steps = int(2.5 * lap_m / (team.speed_mps * 30)) + 10
        rows = []
        for k in range(steps):
            team.advance(30.0, rng)  # a fix every 30 s
            rows.append((dev, t0 + k * 30_000_000, team.lon, team.lat, team.speed_mps, {}))
        track = Track.from_rows(
            [(d, datetime.fromtimestamp(t / 1e6, UTC), x, y, v, a) for d, t, x, y, v, a in rows]
        )
        borders = BorderIndex(lines, zones, home[agency[team.uid]])
        ev = [e for e in evaluate(track, ZoneIndex([]), rules, borders)]
        if ev:
            raised[team.uid] = [(e.kind, e.attrs.get("border")) for e in ev]
    assert raised == {}


def test_the_khorog_team_keeps_clear_of_the_panj() -> None:
    sites = load_patrol_sites(PLACES)
    i = next(k for k, s in enumerate(sites) if s[0] == "Khorog dry port")
    team = make_fleet(i + 1, sites, borders=border_lines(REFERENCE))[i]
    loop = shapely.LineString([(lon, lat) for lat, lon in [*team.waypoints, team.waypoints[0]]])
    panj = next(b.line for b in _lines() if b.code == "AFG-TJK")
    metres = loop.distance(panj) * M_PER_DEG * math.cos(math.radians(37.49))
    assert CLEARANCE_M <= metres < CLEARANCE_M + 1_000
    assert [p.name for p in patrol_sites(read_places(PLACES))][i] == "Khorog dry port"
