"""A simulated fleet of mobile teams patrolling near the region's crossing points and borders.

Each team patrols a loop of waypoints around one crossing point (from the reference places
file), at a plausible speed with small GNSS noise, and reports over the real protocol path:
NMEA 0183 RMC + GGA with the team's id as a prefix over TCP, Teltonika Codec 8 over TCP,
OsmAnd over HTTP or JSON over MQTT (``mix`` spreads the fleet over the configured ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geomon.reference import patrol_sites, read_places
from sensors.protocols.nmea_encode import gga, rmc
from sensors.simulate_clear import CROSSING_KINDS, border_lines, keep_clear
from sensors.simulate_links import LINKS, Fix, Link, NmeaLink

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
        lines = (
            rmc(t, self.lat, self.lon, self.speed_mps, self.course_deg),
            gga(t, self.lat, self.lon, self.altitude_m),
        )
        return "".join(f"{self.uid},{s}\r\n" for s in lines).encode()


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (b[0] - a[0]) * EARTH_M_PER_DEG
    dx = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(math.radians((a[0] + b[0]) / 2))
    return max(math.hypot(dx, dy), 1e-6)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = b[0] - a[0]
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    return math.degrees(math.atan2(dx, dy)) % 360


def load_patrol_sites(places_csv: Path) -> list[tuple[str, float, float, str]]:
    """(name, lat, lon, kind) of the places teams patrol round."""
    return [(p.name, p.lat, p.lon, p.kind) for p in patrol_sites(read_places(places_csv))]


def make_fleet(
    n: int,
    sites: Sequence[tuple[str, float, float, str]],
    *,
    seed: int = 7,
    prefix: str = "TEAM",
    borders: Sequence[Any] = (),
) -> list[Team]:
    """``n`` teams, each looping around a site (sites are reused round-robin); a loop round a
    site that is not a crossing point keeps clear of the ``borders`` lines."""
    rng = random.Random(seed)
    fleet = []
    for i in range(n):
        _, lat, lon, kind = sites[i % len(sites)]
        radius_m = rng.uniform(2_000, 9_000)
        phase = rng.uniform(0, 2 * math.pi)
        pts = []
        for k in range(6):
            ang = phase + k * math.pi / 3
            r = radius_m * rng.uniform(0.6, 1.0)
            pts.append(
                (
                    lat + r * math.cos(ang) / EARTH_M_PER_DEG,
                    lon + r * math.sin(ang) / (EARTH_M_PER_DEG * math.cos(math.radians(lat))),
                )
            )
        if kind not in CROSSING_KINDS:
            pts = keep_clear(pts, (lat, lon), borders)
        fleet.append(
            Team(
                f"{prefix}-{i + 1:02d}",
                pts,
                speed_mps=rng.uniform(8, 20),
                altitude_m=rng.uniform(400, 2500),
            )
        )
    return fleet


def team_uid(team: Team, protocol: str, index: int) -> str:
    """Teltonika devices identify by a 15-digit IMEI; the others by the team's id."""
    return f"35699000{index + 1:07d}" if protocol == "teltonika" else team.uid


def in_gap(elapsed_s: float, gap_every_s: float | None, phase_s: float) -> bool:
    """Coverage gaps: the last quarter of every ``gap_every_s`` period (phase per team)."""
    if not gap_every_s:
        return False
    return (elapsed_s + phase_s) % gap_every_s > 0.75 * gap_every_s


async def drive_team(
    team: Team,
    link: Link,
    *,
    rate_hz: float,
    speedup: float,
    stop: asyncio.Event,
    seed: int,
    gap_every_s: float | None = None,
) -> int:
    """Report ``team`` over ``link`` until ``stop``; fixes made during a coverage gap (or not
    acknowledged) stay buffered and are replayed when the link works again."""
    rng = random.Random(seed)
    period = 1.0 / rate_hz
    buffer: list[Fix] = []
    acked = 0
    start = asyncio.get_running_loop().time()
    phase = rng.uniform(0, gap_every_s or 1.0)
    while not stop.is_set():
        team.advance(period * speedup, rng)
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # ms, as devices send
        buffer.append(
            Fix(now, team.lat, team.lon, team.speed_mps, team.course_deg, team.altitude_m)
        )
        elapsed = asyncio.get_running_loop().time() - start
        if not in_gap(elapsed, gap_every_s, phase):
            acked += await _flush(link, buffer)
        if isinstance(link, NmeaLink):
            buffer.clear()  # a plain NMEA stream has no buffer to replay
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period)
    await link.close()
    return acked


async def _flush(link: Link, buffer: list[Fix]) -> int:
    """Send the buffer oldest first; drop from it only what the server acknowledged."""
    sent_total = 0
    while buffer:
        try:
            sent = await link.send(buffer)
        except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.debug("link down: %s", exc)
            await link.close()
            return sent_total
        if sent == 0:
            return sent_total
        del buffer[:sent]
        sent_total += sent
    return sent_total


def fleet_protocols(n: int, protocol: str, targets: dict[str, str]) -> list[str]:
    """The protocol of each team: one, or ``mix`` = round-robin over the configured targets."""
    if protocol != "mix":
        return [protocol] * n
    order = [p for p in ("teltonika", "osmand", "nmea", "mqtt") if targets.get(p)]
    if not order:
        raise ValueError("mix needs at least one target address")
    return [order[i % len(order)] for i in range(n)]


async def run_fleet(
    n: int,
    targets: dict[str, str] | str,
    places_csv: Path,
    *,
    protocol: str = "nmea",
    rate_hz: float = 1.0,
    speedup: float = 1.0,
    duration_s: float | None = None,
    seed: int = 7,
    gap_every_s: float | None = None,
) -> int:
    """Drive ``n`` teams against the listeners in ``targets`` (protocol -> address; a plain
    string is the NMEA address); returns fixes acknowledged (NMEA: sent)."""
    if isinstance(targets, str):
        targets = {"nmea": targets}
    fleet = make_fleet(
        n, load_patrol_sites(places_csv), seed=seed, borders=border_lines(places_csv.parent)
    )
    protocols = fleet_protocols(n, protocol, targets)
    stop = asyncio.Event()
    tasks = []
    for i, (team, proto) in enumerate(zip(fleet, protocols, strict=True)):
        link = LINKS[proto](team_uid(team, proto, i), targets[proto])
        tasks.append(
            asyncio.create_task(
                drive_team(
                    team,
                    link,
                    rate_hz=rate_hz,
                    speedup=speedup,
                    stop=stop,
                    seed=seed + i,
                    gap_every_s=gap_every_s,
                )
            )
        )
    log.info("simulating %d teams (%s) against %s", n, protocol, targets)
    try:
        if duration_s is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration_s)
    finally:
        stop.set()
        sent = sum(await asyncio.gather(*tasks))
    return sent
