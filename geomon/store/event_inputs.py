"""What the event engine reads from the store: track windows around newly committed fixes,
the zones/borders/rules context, and the inputs of the silent-team check."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from geomon.alerts import AgencyRules, BorderIndex, ZoneIndex
from geomon.store.zones import BORDERS_SQL, ZONES_SQL, border_index, zone_indexes

_WINDOWS = """
WITH s(device_id, lo, hi, c_last, c_count) AS (
  SELECT * FROM unnest(%(d)s::int[], %(lo)s::timestamptz[], %(hi)s::timestamptz[],
                       %(c_last)s::timestamptz[], %(c_count)s::int[])),
b AS (
  SELECT s.*, dv.agency_id,
    (SELECT max(p.fix_time) FROM positions p
      WHERE p.device_id = s.device_id AND p.fix_time < s.lo AND p.valid) AS prev,
    (SELECT min(p.fix_time) FROM positions p
      WHERE p.device_id = s.device_id AND p.fix_time > s.hi AND p.valid) AS next
  FROM s JOIN devices dv ON dv.id = s.device_id),
f AS (
  SELECT b.*, CASE WHEN b.next IS NULL AND b.prev = b.c_last THEN
      (SELECT count(*) FROM positions p WHERE p.device_id = b.device_id AND p.valid
        AND p.fix_time >= b.c_last - %(lookback)s::interval AND p.fix_time <= b.c_last)
      = b.c_count ELSE false END AS tail_only
  FROM b)
SELECT f.device_id, f.agency_id, f.lo, f.hi, f.prev, f.next, f.tail_only, p.fix_time,
       ST_X(p.geom), ST_Y(p.geom), p.speed_mps, p.attrs
FROM f JOIN positions p ON p.device_id = f.device_id AND p.valid
 AND p.fix_time >= CASE WHEN f.tail_only THEN f.lo
                        ELSE coalesce(f.prev - %(lookback)s::interval, f.lo) END
 AND p.fix_time <= coalesce(f.next, f.hi)
ORDER BY f.device_id, p.fix_time
"""


@dataclass(frozen=True)
class CachedTail:
    """What the caller already holds of a device: every valid stored fix from
    ``last - lookback`` to ``last`` (``count`` of them)."""

    last: datetime
    count: int


@dataclass
class Window:
    """One device's reloaded track window: fixes after ``prev`` may emit events, and the
    stored events in ``[t0, t1]`` are replaced by the recomputation.

    ``tail_only``: the caller's :class:`CachedTail` was checked against the store (the
    device's previous stored fix is its ``last``, the count in the lookback matches, nothing
    stored after the batch), so ``rows`` holds only the fixes from the batch's first on; the
    caller prepends what it holds."""

    device_id: int
    agency_id: int
    prev: datetime | None
    t0: datetime
    t1: datetime
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # (dev, t, lon, lat, v, attrs)
    tail_only: bool = False


async def load_windows(conn: psycopg.AsyncConnection,
                       spans: Mapping[int, tuple[datetime, datetime]],
                       lookback: timedelta,
                       tails: Mapping[int, CachedTail] | None = None) -> list[Window]:
    """For each device and (first, last) fix time of a committed batch: the stored fixes from
    the previous stored fix (minus ``lookback`` for stop rules) to the next stored fix - or,
    where ``tails`` holds the device's stored fixes up to the batch and the store agrees,
    just the batch's fixes (one statement, one snapshot either way)."""
    devs = sorted(spans)
    tails = tails or {}
    held = [tails.get(d) for d in devs]
    cur = await conn.execute(_WINDOWS, {
        "d": devs, "lo": [spans[d][0] for d in devs], "hi": [spans[d][1] for d in devs],
        "c_last": [t.last if t else None for t in held],
        "c_count": [t.count if t else None for t in held], "lookback": lookback})
    windows: dict[int, Window] = {}
    for dev, agency, lo, hi, prev, nxt, tail_only, t, lon, lat, v, attrs \
            in await cur.fetchall():
        w = windows.get(dev)
        if w is None:
            t0 = lo if prev is None else prev + timedelta(microseconds=1)
            w = windows[dev] = Window(dev, agency, prev, t0, nxt or hi, tail_only=tail_only)
        w.rows.append((dev, t, lon, lat, v, attrs if isinstance(attrs, dict) else
                       json.loads(attrs or "{}")))
    return list(windows.values())


@dataclass
class EngineContext:
    """Zones per agency, border lines, rules per agency: cached by the ingest hook."""

    zones: dict[int | None, ZoneIndex]
    borders: dict[int | None, BorderIndex]
    rules: dict[int, AgencyRules]
    default_rules: AgencyRules

    def zones_of(self, agency_id: int) -> ZoneIndex:
        return self.zones.get(agency_id) or self.zones[None]

    def borders_of(self, agency_id: int) -> BorderIndex:
        return self.borders.get(agency_id) or self.borders[None]

    def rules_of(self, agency_id: int) -> AgencyRules:
        return self.rules.get(agency_id, self.default_rules)

    def attr_keys(self) -> frozenset[str]:
        """The fix attributes any rule reads (the IO flags' ``attr`` keys)."""
        return frozenset(str(spec["attr"]) for r in (self.default_rules, *self.rules.values())
                         for spec in r["io_flags"].values())


async def load_context(conn: psycopg.AsyncConnection) -> EngineContext:
    zone_rows = await (await conn.execute(ZONES_SQL)).fetchall()
    border_rows = await (await conn.execute(BORDERS_SQL)).fetchall()
    zones = zone_indexes(zone_rows)
    borders = {a: border_index(border_rows, z) for a, z in zones.items()}
    scoped: dict[str, dict[str, Any]] = dict(
        await (await conn.execute("SELECT scope, rules FROM alert_rules")).fetchall())
    default = AgencyRules.build(scoped.get("default"))
    agencies = await (await conn.execute("SELECT id, code FROM agencies")).fetchall()
    rules = {a: AgencyRules.build(scoped.get("default"), scoped.get(code))
             for a, code in agencies if code in scoped}
    return EngineContext(zones, borders, rules, default)


_SILENT_INPUTS = """
SELECT l.device_id, d.agency_id, l.fix_time, ST_X(l.geom), ST_Y(l.geom),
       EXISTS (SELECT 1 FROM duty_periods p WHERE p.device_id = l.device_id
               AND %(now)s BETWEEN p.starts_at AND p.ends_at) AS on_duty,
       EXISTS (SELECT 1 FROM duty_periods p WHERE p.device_id = l.device_id) AS has_schedule
FROM device_latest l JOIN devices d ON d.id = l.device_id
WHERE d.active AND d.kind <> 'sensor'
"""


async def silent_inputs(conn: psycopg.AsyncConnection, now: datetime
                        ) -> list[tuple[int, int, datetime, float, float, bool, bool]]:
    """(device, agency, last fix time, lon, lat, on duty now, has any duty schedule)."""
    cur = await conn.execute(_SILENT_INPUTS, {"now": now})
    return [tuple(r) for r in await cur.fetchall()]  # type: ignore[misc]


async def set_rules(conn: psycopg.AsyncConnection, scope: str, rules: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO alert_rules (scope, rules) VALUES (%s, %s) ON CONFLICT (scope) "
        "DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()", (scope, json.dumps(rules)))


def put_rules(conn: psycopg.Connection, scope: str, rules: dict[str, Any]) -> None:
    """Synchronous :func:`set_rules` (CLI, demo data)."""
    conn.execute(
        "INSERT INTO alert_rules (scope, rules) VALUES (%s, %s) ON CONFLICT (scope) "
        "DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()", (scope, json.dumps(rules)))
