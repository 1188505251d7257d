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

import numpy as np

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
    last_post = None
    for r in reads:
        key = _post(r)
        if out and last_post == key:
            v = out[-1]
            v["last_at"] = r["observed_at"]
            v["reads"] += 1
            if r.get("direction") and r["direction"] not in v["directions"]:
                v["directions"].append(r["direction"])
            continue
        last_post = key
        out.append(
            {
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


def _leg_km(vs: list[dict[str, Any]]) -> np.ndarray:
    """Great-circle km between consecutive visits, vectorised (NaN where a post has no
    position): a journey of 10,000 reads has up to 9,999 legs."""
    nan = float("nan")
    xy = np.array(
        [
            (nan if v["lon"] is None else v["lon"], nan if v["lat"] is None else v["lat"])
            for v in vs
        ],
        dtype=float,
    )
    lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
    dp, dl = np.diff(lat), np.diff(lon)
    h = np.sin(dp / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dl / 2) ** 2
    out: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return out


def legs(vs: list[dict[str, Any]], rule: SpeedRule) -> list[dict[str, Any]]:
    """The move between each pair of consecutive visits: time, distance, implied speed."""
    if len(vs) < 2:
        return []
    kms = _leg_km(vs).tolist()
    out = []
    for a, b, km in zip(vs, vs[1:], kms, strict=False):
        left: datetime = a["last_at"]
        arrived: datetime = b["first_at"]
        seconds = (arrived - left).total_seconds()
        known = not math.isnan(km)
        out.append(
            {
                "from": a["place"] or a["sensor"],
                "to": b["place"] or b["sensor"],
                "left_at": left,
                "arrived_at": arrived,
                "seconds": seconds,
                "distance_km": round(km, 3) if known else None,
                "speed_kmh": round(km / max(seconds, 1.0) * 3600, 1) if known else None,
                "too_fast": known and rule.too_fast(km, seconds),
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
        "visits": vs,
        "legs": legs(vs, rule),
        "countries": sorted({c for x in vs for c in (x["countries"] or "").split("-") if c}),
        "max_speed_kmh": rule.max_speed_kmh,
        "truncated": truncated,
    }
