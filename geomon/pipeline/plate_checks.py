"""The listener's periodic plate checks: cloned plates and convoys among the reads stored
since the last look, overstays among entries that have just become N days old.

Each read is looked at in two consecutive looks (a writer's transaction that took lower ids
may commit after a look began). One instance runs in the first listener process (next to the
silent-team check). On start it looks back over the last 50,000 reads and a day of entries
(events have deterministic keys, so looking at a read twice raises nothing twice). Errors
are logged and retried; ingest never waits for these checks.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from geomon.settings import PlateSettings
from geomon.store import plate_detections as store

log = logging.getLogger(__name__)
_OVERSTAY_EVERY = timedelta(minutes=1)
_BATCH_IDS = 50_000  # reads per look (a backlog is worked off in steps)


@dataclass
class PlateChecker:
    settings: PlateSettings
    after_id: int | None = None  # looks cover (after_id, newest id]
    seen_upto: int = 0  # the newest id of the previous look
    overstay_until: datetime | None = None
    last_overstay: datetime | None = None

    async def step(self, conn: psycopg.AsyncConnection, now: datetime | None = None) -> list[int]:
        """One look (in the caller's transaction); returns the new event ids."""
        now = now or datetime.now(UTC)
        s = self.settings
        upto = await store.last_observation_id(conn)
        if self.after_id is None:
            self.after_id = max(0, upto - _BATCH_IDS)
        upto = min(upto, self.after_id + _BATCH_IDS)
        ids: list[int] = []
        if upto > self.after_id:
            ids += await store.raise_cloned(
                conn, self.after_id, upto,
                max_speed_kmh=s.max_speed_kmh, min_distance_km=s.clone_min_distance_km,
            )  # fmt: skip
            ids += await store.raise_convoys(
                conn, self.after_id, upto, window_minutes=s.convoy_minutes,
                times=s.convoy_times, lookback_days=s.convoy_lookback_days,
            )  # fmt: skip
            # the next look starts at this look's start, not its end: a writer transaction
            # still in flight had taken lower ids that only become visible after it commits
            self.after_id, self.seen_upto = max(self.seen_upto, self.after_id), upto
        if self.last_overstay is None or now - self.last_overstay >= _OVERSTAY_EVERY:
            cutoff = now - timedelta(days=s.overstay_days)
            start = self.overstay_until or cutoff - timedelta(days=1)
            ids += await store.raise_overstays(conn, start, cutoff, s.overstay_days)
            self.overstay_until, self.last_overstay = cutoff, now
        return ids


async def run_plate_checks(url: str, settings: PlateSettings) -> None:
    """Forever: a look every ``settings.check_every_s`` seconds (cancel to stop)."""
    checker = PlateChecker(settings)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                url, connect_timeout=5, application_name="geomon-plates"
            ) as conn:
                while True:
                    async with conn.transaction():
                        ids = await checker.step(conn)
                    if ids:
                        log.info("plate checks: %d events", len(ids))
                    await asyncio.sleep(settings.check_every_s)
        except (psycopg.Error, OSError) as exc:
            log.warning("plate checks: database unavailable (%s); retrying", exc)
            await asyncio.sleep(settings.check_every_s)
