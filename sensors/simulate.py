"""A simulated fleet of mobile teams patrolling near the region's crossing points and borders.

Each team patrols a loop of waypoints around one crossing point (from the reference places
file), at a plausible speed with small GNSS noise, and reports over the real protocol path:
NMEA 0183 RMC + GGA with the team's id as a prefix, over its own TCP connection.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from geomon.reference import patrol_sites, read_places
from sensors.protocols.nmea_encode import gga, rmc

log = logging.getLogger(__name__)
EARTH_M_PER_DEG = 111_320.0


@dataclass
class Team:
    """One vehicle: its id, the loop it drives and where on it it is."""

    uid: str
    waypoints: list[tuple[float, float]]  # (lat, lon)
    speed_mps: float
    altitude_m: float
    leg: int = 0
    frac: float = 0.0
    lat: float = field(init=False)
    lon: float = field(init=False)
    course_deg: float = 0.0

    def __post_init__(self) -> None:
        self.lat, self.lon = self.waypoints[0]

    def advance(self, dt_s: float, rng: random.Random) -> None:
        """Drive ``dt_s`` seconds along the loop."""
        remaining = self.speed_mps * dt_s
        while remaining > 0:
            a = self.waypoints[self.leg]
            b = self.waypoints[(self.leg + 1) % len(self.waypoints)]
            leg_m = _distance_m(a, b)
            left = leg_m * (1 - self.frac)
            if remaining < left:
                self.frac += remaining / leg_m
                remaining = 0
            else:
                remaining -= left
                self.leg = (self.leg + 1) % len(self.waypoints)
                self.frac = 0.0
            self.course_deg = _bearing(a, b)
        a = self.waypoints[self.leg]
        b = self.waypoints[(self.leg + 1) % len(self.waypoints)]
        self.lat = a[0] + (b[0] - a[0]) * self.frac + rng.gauss(0, 2e-5)
        self.lon = a[1] + (b[1] - a[1]) * self.frac + rng.gauss(0, 2e-5)

    def sentences(self, t: datetime) -> bytes:
        lines = (rmc(t, self.lat, self.lon, self.speed_mps, self.course_deg),
                 gga(t, self.lat, self.lon, self.altitude_m))
        return "".join(f"{self.uid},{s}\r\n" for s in lines).encode()


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (b[0] - a[0]) * EARTH_M_PER_DEG
    dx = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(math.radians((a[0] + b[0]) / 2))
    return max(math.hypot(dx, dy), 1e-6)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = b[0] - a[0]
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    return math.degrees(math.atan2(dx, dy)) % 360


def load_patrol_sites(places_csv: Path) -> list[tuple[str, float, float]]:
    return [(p.name, p.lat, p.lon) for p in patrol_sites(read_places(places_csv))]


def make_fleet(n: int, sites: list[tuple[str, float, float]], *, seed: int = 7,
               prefix: str = "TEAM") -> list[Team]:
    """``n`` teams, each looping around a crossing point (sites are reused round-robin)."""
    rng = random.Random(seed)
    fleet = []
    for i in range(n):
        _, lat, lon = sites[i % len(sites)]
        radius_m = rng.uniform(2_000, 9_000)
        phase = rng.uniform(0, 2 * math.pi)
        pts = []
        for k in range(6):
            ang = phase + k * math.pi / 3
            r = radius_m * rng.uniform(0.6, 1.0)
            pts.append((lat + r * math.cos(ang) / EARTH_M_PER_DEG,
                        lon + r * math.sin(ang) / (EARTH_M_PER_DEG * math.cos(math.radians(lat)))))
        fleet.append(Team(f"{prefix}-{i + 1:02d}", pts, speed_mps=rng.uniform(8, 20),
                          altitude_m=rng.uniform(400, 2500)))
    return fleet


async def drive_team(team: Team, host: str, port: int, *, rate_hz: float, speedup: float,
                     stop: asyncio.Event, seed: int) -> int:
    """Report ``team`` over NMEA/TCP until ``stop``; reconnects when the link drops."""
    rng = random.Random(seed)
    sent = 0
    period = 1.0 / rate_hz
    while not stop.is_set():
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(1.0)
            continue
        try:
            while not stop.is_set():
                team.advance(period * speedup, rng)
                writer.write(team.sentences(datetime.now(UTC)))
                await writer.drain()
                sent += 1
                try:
                    await asyncio.wait_for(stop.wait(), period)
                except TimeoutError:
                    pass
        except OSError:
            await asyncio.sleep(1.0)
        finally:
            writer.close()
    return sent


async def run_fleet(n: int, address: str, places_csv: Path, *, rate_hz: float = 1.0,
                    speedup: float = 1.0, duration_s: float | None = None, seed: int = 7) -> int:
    """Drive ``n`` teams against the NMEA listener at HOST:PORT; returns fixes sent."""
    host, _, port = address.rpartition(":")
    fleet = make_fleet(n, load_patrol_sites(places_csv), seed=seed)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(drive_team(t, host, int(port), rate_hz=rate_hz,
                                            speedup=speedup, stop=stop, seed=seed + i))
             for i, t in enumerate(fleet)]
    log.info("simulating %d teams against %s", n, address)
    try:
        if duration_s is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration_s)
    finally:
        stop.set()
        sent = sum(await asyncio.gather(*tasks))
    return sent
