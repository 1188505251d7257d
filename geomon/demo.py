"""Demo data: agencies, the simulated teams' devices, and generated incidents.

Incidents are *synthetic* (no real case data): seizures and detentions scattered in clusters
around crossing points, denser on the Tajik–Afghan border, so hotspot layers have something
to find. They carry a planted seasonal pattern for the forecast (issue 19) to find: along the
Afghan borders a spring–summer peak (June the highest, :data:`AFGHAN_SEASON`), at the high
passes (:data:`HIGH_PASSES`, closed by snow) a winter low (:data:`PASS_SEASON`), elsewhere no
season; with ``border_stretches`` a share of them also lies on a few stretches of the
Afghan–Tajik border itself (the Panj river), with the Afghan season. Everything is
deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import shapely

from geomon.reference import PlaceRecord, patrol_sites

# Border agencies of the region (codes are ours; names are the services' public names).
AGENCIES = {
    "KAZ": ("KAZ-BS", "Border Service of the National Security Committee of Kazakhstan"),
    "KGZ": ("KGZ-BS", "Border Service of the State Committee for National Security of Kyrgyzstan"),
    "TJK": ("TJK-BS", "Border Troops of the State Committee for National Security of Tajikistan"),
    "TKM": ("TKM-BS", "State Border Service of Turkmenistan"),
    "UZB": ("UZB-BS", "Border Troops of the State Security Service of Uzbekistan"),
}
CATEGORIES = (("seizure", 0.6), ("detention", 0.25), ("detection", 0.15))
# relative incident rate by calendar month (January first)
AFGHAN_SEASON = (0.35, 0.4, 0.7, 1.1, 1.6, 2.2, 1.5, 1.2, 0.9, 0.6, 0.45, 0.35)
PASS_SEASON = (0.1, 0.1, 0.25, 0.7, 1.3, 1.7, 1.9, 1.8, 1.4, 0.8, 0.3, 0.1)
FLAT_SEASON = (1.0,) * 12
# crossing points on passes above 3,500 m (the name's first word)
HIGH_PASSES = ("Bordobo", "Irkeshtam", "Torugart", "Kulma")
# where along the Afghan–Tajik border line the planted stretches lie (fractions of its
# length), and the share of incidents put there when the line is given
AFG_TJK_STRETCHES = (0.12, 0.3, 0.48, 0.66, 0.84)
STRETCH_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class DemoIncident:
    category: str
    quantity: float | None
    unit: str | None
    occurred_at: datetime
    lat: float
    lon: float
    agency_code: str


def team_agency(place: PlaceRecord) -> str:
    """The agency of the first Central Asian state named in the place's ``countries``."""
    for iso in place.countries.split("-"):
        if iso in AGENCIES:
            return AGENCIES[iso][0]
    return AGENCIES["KAZ"][0]


def demo_teams(places: list[PlaceRecord], n: int, prefix: str = "TEAM") -> list[tuple[str, str]]:
    """(uid, agency code) of the ``n`` simulated teams, matching ``sensors.simulate``."""
    sites = patrol_sites(places)
    return [(f"{prefix}-{i + 1:02d}", team_agency(sites[i % len(sites)])) for i in range(n)]


def season_of(place: PlaceRecord) -> tuple[float, ...]:
    """The planted monthly rate profile of incidents near ``place``."""
    if place.name.split()[0] in HIGH_PASSES:
        return PASS_SEASON
    if "AFG" in place.countries.split("-"):
        return AFGHAN_SEASON
    return FLAT_SEASON


def _seasonal_time(
    rng: random.Random, now: datetime, months: int, season: tuple[float, ...]
) -> datetime:
    """A time in the last ``months`` months drawn with the monthly rates ``season``
    (rejection sampling, so the draw stays deterministic for the seed)."""
    top = max(season)
    while True:
        when = now - timedelta(days=rng.uniform(0, months * 30.4))
        if rng.random() * top <= season[when.month - 1]:
            return when


def demo_incidents(
    places: list[PlaceRecord],
    n: int,
    *,
    seed: int = 11,
    now: datetime | None = None,
    months: int = 24,
    border_stretches: list[tuple[float, float]] | None = None,
) -> list[DemoIncident]:
    """``n`` synthetic incidents over the last ``months`` months, clustered at crossings;
    with ``border_stretches`` (lon, lat centres on the Afghan–Tajik border, see
    :func:`stretch_points`) a share of them clustered there instead."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    sites = patrol_sites(places)
    weights = [4.0 if "AFG" in s.countries else 1.0 for s in sites]
    tjk = AGENCIES["TJK"][0]
    out = []
    season: tuple[float, ...]
    for _ in range(n):
        if border_stretches and rng.random() < STRETCH_SHARE:
            lon0, lat0 = rng.choice(border_stretches)
            spread, season, agency = 4_000.0, AFGHAN_SEASON, tjk
        else:
            site = rng.choices(sites, weights)[0]
            lon0, lat0, spread = site.lon, site.lat, 6_000.0
            season, agency = season_of(site), team_agency(site)
        r = abs(rng.gauss(0, spread))
        ang = rng.uniform(0, 2 * math.pi)
        lat = lat0 + r * math.cos(ang) / 111_320
        lon = lon0 + r * math.sin(ang) / (111_320 * math.cos(math.radians(lat0)))
        cat = rng.choices([c for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]
        qty = round(rng.lognormvariate(1.5, 1.2), 2) if cat == "seizure" else None
        when = _seasonal_time(rng, now, months, season)
        out.append(DemoIncident(cat, qty, "kg" if qty else None, when, lat, lon, agency))
    return out


def stretch_points(border: Any) -> list[tuple[float, float]]:
    """(lon, lat) of the planted stretches on a border (multi)line in EPSG:4326: points at
    :data:`AFG_TJK_STRETCHES` of its longest part's length."""
    merged = shapely.line_merge(border)
    part = max(getattr(merged, "geoms", [merged]), key=lambda g: g.length)
    return [
        (float(p.x), float(p.y))
        for p in (part.interpolate(f, normalized=True) for f in AFG_TJK_STRETCHES)
    ]


# Issue 17: plate cameras at Khorgos - Nur Zholy (two lanes) and one at Kordai, ~470 km
# west, a watch-listed plate the simulator reads at Nur Zholy (and, as a clone, at Kordai
# minutes later), and a pair of plates that always cross together.
PLATE_AGENCY = AGENCIES["KAZ"][0]
PLATE_CAMERAS = (
    ("KZ-NZH-ANPR-1", "Khorgos - Nur Zholy road BCP", 1),
    ("KZ-NZH-ANPR-2", "Khorgos - Nur Zholy road BCP", 2),
    ("KZ-KRD-ANPR-1", "Kordai / Ak-Jol road BCP", 1),
)
WATCHED_PLATE = "777 KZA 02"
WATCHED_REASON = "demo: vehicle linked to a heroin seizure at Khorgos"
CONVOY_PLATES = ("512 ABK 05", "513 ABK 05")

# Issue 17, link analysis: the watch-listed vehicle, the courier who drives it and his phone,
# linked to last year's heroin seizure at Khorgos (all synthetic) - the chain the link chart
# shows when the analyst opens the vehicle.
DEMO_CASE_ID = "DEMO-KHORGOS-HEROIN"
DEMO_COURIER = ("person", "DEMO-P-1", "Демо Курьер (synthetic)")
DEMO_PHONE = "+77010000001"
