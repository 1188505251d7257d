"""Demo data: agencies, the simulated teams' devices, and generated incidents.

Incidents are *synthetic* (no real case data): seizures and detentions scattered in clusters
around crossing points, denser on the Tajik–Afghan border, so hotspot layers have something
to find. Everything is deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


def demo_incidents(
    places: list[PlaceRecord],
    n: int,
    *,
    seed: int = 11,
    now: datetime | None = None,
    months: int = 24,
) -> list[DemoIncident]:
    """``n`` synthetic incidents over the last ``months`` months, clustered at crossings."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    sites = patrol_sites(places)
    weights = [4.0 if "AFG" in s.countries else 1.0 for s in sites]
    out = []
    for _ in range(n):
        site = rng.choices(sites, weights)[0]
        r = abs(rng.gauss(0, 6_000))
        ang = rng.uniform(0, 2 * math.pi)
        lat = site.lat + r * math.cos(ang) / 111_320
        lon = site.lon + r * math.sin(ang) / (111_320 * math.cos(math.radians(site.lat)))
        cat = rng.choices([c for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]
        qty = round(rng.lognormvariate(1.5, 1.2), 2) if cat == "seizure" else None
        when = now - timedelta(days=rng.uniform(0, months * 30.4))
        out.append(DemoIncident(cat, qty, "kg" if qty else None, when, lat, lon, team_agency(site)))
    return out
