"""A simulated team that crosses a border away from every crossing point (demo of issue 8).

A second team, SILENT-01, reports for a minute and then goes quiet (the silent-team demo).

The incursion team drives back and forth across the AFG-TJK line (Natural Earth 1:10m) at
the point of the line farthest from any road/rail crossing point, 3 km either side (past the
line's 2 km stated accuracy, the border_cross tolerance), reporting NMEA 0183 over TCP like the
rest of the simulated fleet — each crossing must raise a critical ``border_cross`` event.

    .venv/bin/python -m sensors.simulate_incursion --to 127.0.0.1:5010 [--border AFG-TJK]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from geomon.reference import read_features, read_places
from sensors.simulate import EARTH_M_PER_DEG, LINKS, Team, drive_team

log = logging.getLogger(__name__)
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


def crossing_site(
    border: str, reference: Path = REFERENCE, samples: int = 400
) -> tuple[float, float, float, float]:
    """(lat, lon) of the border point farthest from every crossing point, and the unit
    normal (north, east components) of the line there."""
    a, b = sorted(border.upper().split("-"))
    line = next(
        shape(f["geometry"])
        for f in read_features(reference / "borders_ne10m.geojson")
        if sorted((f["properties"]["a"], f["properties"]["b"])) == [a, b]
    )
    bcps = shapely.multipoints(
        [
            (p.lon, p.lat)
            for p in read_places(reference / "places_central_asia.csv")
            if p.kind in ("road_bcp", "rail_bcp")
        ]
    )
    fracs = np.linspace(0.05, 0.95, samples)
    pts = shapely.line_interpolate_point(line, fracs, normalized=True)
    best = float(fracs[int(np.argmax(shapely.distance(pts, bcps)))])
    p = line.interpolate(best, normalized=True)
    q = line.interpolate(best + 1e-3, normalized=True)
    dx, dy = q.x - p.x, q.y - p.y
    n = math.hypot(dx, dy)
    return p.y, p.x, dx / n, -dy / n  # normal = tangent rotated by -90°


def incursion_team(
    border: str = "AFG-TJK",
    *,
    uid: str = "INCURSION-01",
    half_leg_m: float = 3000.0,
    speed_mps: float = 12.0,
) -> Team:
    """A team shuttling ``half_leg_m`` either side of the border, perpendicular to it."""
    lat, lon, n_north, n_east = crossing_site(border)
    dlat = half_leg_m * n_north / EARTH_M_PER_DEG
    dlon = half_leg_m * n_east / (EARTH_M_PER_DEG * math.cos(math.radians(lat)))
    return Team(
        uid,
        [(lat - dlat, lon - dlon), (lat + dlat, lon + dlon)],
        speed_mps=speed_mps,
        altitude_m=450.0,
    )


def silent_team(uid: str = "SILENT-01") -> Team:
    """A team on a small loop near Panji Poyon that will stop reporting (the demo's silent
    team)."""
    lat, lon = 37.30, 68.70
    d = 0.01
    return Team(
        uid,
        [(lat, lon), (lat + d, lon), (lat + d, lon + d), (lat, lon + d)],
        speed_mps=8.0,
        altitude_m=400.0,
    )


async def run(
    address: str,
    border: str,
    *,
    rate_hz: float,
    speedup: float,
    duration_s: float | None,
    silent_after_s: float = 60.0,
) -> int:
    team = incursion_team(border)
    log.info(
        "incursion team %s shuttles across %s near %.4f,%.4f",
        team.uid,
        border,
        team.waypoints[0][0],
        team.waypoints[0][1],
    )
    stop, hush = asyncio.Event(), asyncio.Event()
    quiet = silent_team()
    tasks = [
        asyncio.create_task(
            drive_team(
                team,
                LINKS["nmea"](team.uid, address),
                rate_hz=rate_hz,
                speedup=speedup,
                stop=stop,
                seed=99,
            )
        ),
        asyncio.create_task(
            drive_team(
                quiet,
                LINKS["nmea"](quiet.uid, address),
                rate_hz=rate_hz,
                speedup=speedup,
                stop=hush,
                seed=98,
            )
        ),
    ]
    try:
        await asyncio.sleep(silent_after_s)
        hush.set()
        log.info("team SILENT-01 stops reporting now")
        await (asyncio.sleep(duration_s) if duration_s else asyncio.Event().wait())
    finally:
        stop.set()
        hush.set()
    return sum(await asyncio.gather(*tasks))


def main() -> None:
    ap = argparse.ArgumentParser(description="Drive one team across a border, away from BCPs.")
    ap.add_argument("--to", default="127.0.0.1:5010", help="HOST:PORT of the NMEA listener")
    ap.add_argument("--border", default="AFG-TJK")
    ap.add_argument("--rate", type=float, default=1.0, help="fixes per second")
    ap.add_argument("--speedup", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=None, help="seconds (default: forever)")
    ap.add_argument(
        "--silent-after",
        type=float,
        default=120.0,
        help="seconds after which team SILENT-01 stops reporting",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        sent = asyncio.run(
            run(
                args.to,
                args.border,
                rate_hz=args.rate,
                speedup=args.speedup,
                duration_s=args.duration,
                silent_after_s=args.silent_after,
            )
        )
        print(f"sent {sent} fixes")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
