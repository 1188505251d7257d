"""A plate's journey: its reads in time order folded into visits (consecutive reads at one
post) and the legs between posts, with the straight-line speed each leg implies.

Pure: rows in, dicts out. A leg is ``too_fast`` when its posts are at least
``clone_min_distance_km`` apart and covering the straight line between them would need more
than ``max_speed_kmh`` — the same rule the cloned-plate detector applies
(geomon/store/plate_detections.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class SpeedRule:
    max_speed_kmh: float
    clone_min_distance_km: float

    def too_fast(self, distance_km: float, seconds: float) -> bool:
        if distance_km < self.clone_min_distance_km:
            return False
        return distance_km / max(seconds, 1.0) * 3600 > self.max_speed_kmh


def great_circle_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance on the mean Earth sphere (PostGIS geography differs by < 0.5 %)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _post(read: dict[str, Any]) -> str:
    return f"place:{read['place_id']}" if read.get("place_id") else f"sensor:{read['sensor']}"


def visits(reads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive reads at the same post as one visit (first/last time, count, directions)."""
    out: list[dict[str, Any]] = []
    for r in reads:
        key = _post(r)
        if out and out[-1]["post"] == key:
            v = out[-1]
            v["last_at"] = r["observed_at"]
            v["reads"] += 1
            if r.get("direction") and r["direction"] not in v["directions"]:
                v["directions"].append(r["direction"])
            continue
        out.append(
            {
                "post": key,
                "place_id": r.get("place_id"),
                "place": r.get("place"),
                "countries": r.get("countries"),
                "sensor": r["sensor"],
                "agency": r["agency"],
                "lon": r.get("lon"),
                "lat": r.get("lat"),
                "first_at": r["observed_at"],
                "last_at": r["observed_at"],
                "reads": 1,
                "directions": [r["direction"]] if r.get("direction") else [],
            }
        )
    return out


def legs(vs: list[dict[str, Any]], rule: SpeedRule) -> list[dict[str, Any]]:
    """The move between each pair of consecutive visits: time, distance, implied speed."""
    out = []
    for a, b in zip(vs, vs[1:], strict=False):
        left: datetime = a["last_at"]
        arrived: datetime = b["first_at"]
        seconds = (arrived - left).total_seconds()
        known = None not in (a["lon"], a["lat"], b["lon"], b["lat"])
        km = great_circle_km(a["lon"], a["lat"], b["lon"], b["lat"]) if known else None
        out.append(
            {
                "from": a["place"] or a["sensor"],
                "to": b["place"] or b["sensor"],
                "left_at": left,
                "arrived_at": arrived,
                "seconds": seconds,
                "distance_km": None if km is None else round(km, 3),
                "speed_kmh": None if km is None else round(km / max(seconds, 1.0) * 3600, 1),
                "too_fast": km is not None and rule.too_fast(km, seconds),
            }
        )
    return out


def journey(
    plate: str, reads: list[dict[str, Any]], rule: SpeedRule, *, truncated: bool
) -> dict[str, Any]:
    """The journey document the API returns (``links`` is left to the entities work)."""
    vs = visits(reads)
    return {
        "plate": plate,
        "reads": reads,
        "visits": [{k: v for k, v in x.items() if k != "post"} for x in vs],
        "legs": legs(vs, rule),
        "countries": sorted({c for x in vs for c in (x["countries"] or "").split("-") if c}),
        "max_speed_kmh": rule.max_speed_kmh,
        "truncated": truncated,
    }
