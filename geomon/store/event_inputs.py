"""What the event engine reads from the store: track windows around newly committed fixes,
the zones/borders/rules context, and the inputs of the silent-team check."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from geomon.alerts import AgencyRules, BorderIndex, ZoneIndex
from geomon.store.zones import (
    BORDERS_SQL,
    ZONES_SQL,
    border_index,
    border_lines,
    zone_indexes,
)

_COUNT_CAP = 10_000  # counts of newer fixes stop here (then: no cache for that device)

# Per device once (MATERIALIZED: inlined, the planner re-ran the subqueries for every
# position row it joined - seconds a batch), then one index range scan per device.
# ``held``: the caller holds every valid fix from c_from to c_last, and c_seen of the writer's
# inserts (device_latest.valid_fixes) were at or before c_last. It may be used when it reaches
# back to prev - lookback and that number still holds (nothing was stored behind its back);
# then only fixes after c_last are read.
# Array parameters go in binary (%b): psycopg's text arrays are slow to build at fleet size.
_WINDOWS = f"""
WITH s(device_id, lo, hi, c_from, c_last, c_seen) AS (
  SELECT * FROM unnest(%(d)b::int[], %(lo)b::timestamptz[], %(hi)b::timestamptz[],
                       %(c_from)b::timestamptz[], %(c_last)b::timestamptz[], %(c_seen)b::bigint[])),
b AS MATERIALIZED (
  SELECT s.*, dv.agency_id,
    (SELECT max(p.fix_time) FROM positions p
      WHERE p.device_id = s.device_id AND p.fix_time < s.lo AND p.valid) AS prev,
    (SELECT min(p.fix_time) FROM positions p
      WHERE p.device_id = s.device_id AND p.fix_time > s.hi AND p.valid) AS next,
    (SELECT l.valid_fixes FROM device_latest l WHERE l.device_id = s.device_id) AS n_now
  FROM s JOIN devices dv ON dv.id = s.device_id),
f AS MATERIALIZED (
  SELECT b.*, CASE WHEN b.prev <= b.c_last AND b.prev - %(lookback)s::interval >= b.c_from
    THEN (SELECT count(*) FROM (SELECT FROM positions p WHERE p.device_id = b.device_id
          AND p.valid AND p.fix_time > b.c_last LIMIT {_COUNT_CAP + 1}) x) END AS n_newer
  FROM b),
g AS MATERIALIZED (
  SELECT f.*, coalesce(f.n_newer <= {_COUNT_CAP} AND f.n_now - f.n_newer = f.c_seen, false)
              AS held
  FROM f),
h AS MATERIALIZED (
  SELECT g.*, CASE WHEN g.held THEN g.n_newer ELSE
    (SELECT count(*) FROM (SELECT FROM positions p WHERE p.device_id = g.device_id
      AND p.valid AND p.fix_time > coalesce(g.next, g.hi) LIMIT {_COUNT_CAP + 1}) x) END AS n_cut,
    CASE WHEN g.held THEN g.c_last + interval '1 microsecond'
         ELSE coalesce(g.prev - %(lookback)s::interval, g.lo) END AS w_from,
    coalesce(g.next, g.hi) AS w_to
  FROM g)
-- the bounds as plain values: under row-level security only leakproof conditions can be
-- index conditions, and "+ interval" or coalesce() in them would not be (a scan of every
-- fix of the device instead of the range)
-- attrs only of fixes that carry a key some rule reads (flags are rare: most fixes send none)
SELECT h.device_id, h.agency_id, h.lo, h.hi, h.prev, h.next, h.held, h.n_now, h.n_cut,
       p.fix_time, ST_X(p.geom), ST_Y(p.geom), p.speed_mps,
       CASE WHEN %(keys)s::text[] IS NULL OR p.attrs ?| %(keys)s::text[] THEN p.attrs END
FROM h LEFT JOIN LATERAL (
  SELECT p.fix_time, p.geom, p.speed_mps, p.attrs FROM positions p
  WHERE p.device_id = h.device_id AND p.valid AND p.fix_time >= h.w_from
    AND p.fix_time <= h.w_to
  OFFSET 0) p ON true
ORDER BY h.device_id, p.fix_time
"""


@dataclass(frozen=True)
class CachedTail:
    """What the caller holds of a device: every valid stored fix from ``since`` to ``last``,
    and ``seen``, how many of the writer's inserts (``device_latest.valid_fixes``) were at or
    before ``last`` when it took them."""

    since: datetime
    last: datetime
    seen: int


@dataclass
class Window:
    """One device's reloaded track window: fixes after ``prev`` may emit events, and the
    stored events in ``[t0, t1]`` are replaced by the recomputation.

    ``held``: the caller's :class:`CachedTail` was confirmed by the store (it reaches back to
    ``prev`` - lookback and nothing was stored at or before its ``last`` since), and ``rows``
    holds only the fixes after its ``last`` (up to ``t1``); the caller adds what it holds.
    ``seen``: the writer's inserts at or before the window's last row, for the caller's next
    :class:`CachedTail` (None when too many fixes are stored after the window to count)."""

    device_id: int
    agency_id: int
    prev: datetime | None
    t0: datetime
    t1: datetime
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # (dev, t, lon, lat, v, attrs)
    held: bool = False
    seen: int | None = None


async def load_windows(
    conn: psycopg.AsyncConnection,
    spans: Mapping[int, tuple[datetime, datetime]],
    lookback: timedelta,
    tails: Mapping[int, CachedTail] | None = None,
    keys: Iterable[str] | None = None,
) -> list[Window]:
    """For each device and (first, last) fix time of a committed batch: the stored fixes from
    the previous stored fix (minus ``lookback`` for stop rules) to the next stored fix - or,
    where ``tails`` holds them up to some point and the store confirms it, only the fixes
    after that (one statement, one snapshot either way). Devices without a valid fix in their
    window get no window; a held window may have no rows (the caller holds them all).
    ``keys``: the attributes the caller reads; a fix with none of them comes with empty attrs
    (None: all attributes of every fix)."""
    devs = sorted(spans)
    tails = tails or {}
    held = [tails.get(d) for d in devs]
    # results in binary: no text timestamps and floats to format on the server, nor parse here
    cur = await conn.execute(
        _WINDOWS,
        binary=True,
        params={
            "d": devs,
            "lo": [spans[d][0] for d in devs],
            "hi": [spans[d][1] for d in devs],
            "c_from": [t.since if t else None for t in held],
            "c_last": [t.last if t else None for t in held],
            "c_seen": [t.seen if t else None for t in held],
            "lookback": lookback,
            "keys": None if keys is None else sorted(keys),
        },
    )
    windows: dict[int, Window] = {}
    # n_cut: fixes stored after the held last one (held) or after the window (not held);
    # held, the window's fixes are among them, so the rest are after the window
    for (
        dev,
        agency,
        lo,
        hi,
        prev,
        nxt,
        is_held,
        n_now,
        n_cut,
        t,
        lon,
        lat,
        v,
        attrs,
    ) in await cur.fetchall():
        w = windows.get(dev)
        if w is None:
            if t is None and not is_held:
                continue  # no valid fix in the window
            t0 = lo if prev is None else prev + timedelta(microseconds=1)
            w = windows[dev] = Window(dev, agency, prev, t0, nxt or hi, held=is_held)
            if n_now is not None and n_cut <= _COUNT_CAP:
                w.seen = n_now - n_cut  # + the window's own fixes when held, below
        if t is not None:
            w.rows.append(
                (
                    dev,
                    t,
                    lon,
                    lat,
                    v,
                    attrs if isinstance(attrs, dict) else json.loads(attrs) if attrs else {},
                )
            )
    for w in windows.values():
        if w.held and w.seen is not None:
            w.seen += len(w.rows)  # inserts at or before the window's end
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

    def lookback(self) -> timedelta:
        """How far before a batch the engine must see: twice the longest ``stop_minutes`` of
        any agency's rules or any zone's own override (a stop is found only if its start is
        in the window)."""
        minutes = [float(r["stop_minutes"]) for r in (self.default_rules, *self.rules.values())]
        minutes += [
            float(z.rules["stop_minutes"])
            for index in self.zones.values()
            for z in index.zones
            if "stop_minutes" in (z.rules or {})
        ]
        return timedelta(minutes=2 * max(minutes))

    def attr_keys(self) -> frozenset[str]:
        """The fix attributes any rule reads (the IO flags' ``attr`` keys)."""
        return frozenset(
            str(spec["attr"])
            for r in (self.default_rules, *self.rules.values())
            for spec in r["io_flags"].values()
        )


# The change counters (migration 0006) of what the context is built from, bar the rules.
_CONTEXT_VERSION = (
    "SELECT coalesce(array_agg(version ORDER BY table_name), '{}') FROM layer_versions "
    "WHERE table_name IN ('agencies', 'borders', 'zones')"
)


async def context_version(conn: psycopg.AsyncConnection) -> tuple[int, ...]:
    """The counters of zones, borders and agencies: a context built under other counters is
    stale (a zone drawn a second ago must apply to the next fix, not 30 s later)."""
    row = await (await conn.execute(_CONTEXT_VERSION)).fetchone()
    return tuple(row[0]) if row else ()


async def load_context(conn: psycopg.AsyncConnection) -> EngineContext:
    zone_rows = await (await conn.execute(ZONES_SQL)).fetchall()
    border_rows = await (await conn.execute(BORDERS_SQL)).fetchall()
    zones = zone_indexes(zone_rows)
    scoped: dict[str, dict[str, Any]] = dict(
        await (await conn.execute("SELECT scope, rules FROM alert_rules")).fetchall()
    )
    default = AgencyRules.build(scoped.get("default"))
    agencies = await (await conn.execute("SELECT id, code, country FROM agencies")).fetchall()
    rules = {
        a: AgencyRules.build(scoped.get("default"), scoped.get(code))
        for a, code, _ in agencies
        if code in scoped
    }
    lines = border_lines(border_rows)
    borders: dict[int | None, BorderIndex] = {None: border_index(lines, zones[None], None)}
    for a, _, country in agencies:  # the home country decides which side is far
        borders[a] = border_index(lines, zones.get(a) or zones[None], country)
    return EngineContext(zones, borders, rules, default)


_SILENT_INPUTS = """
SELECT l.device_id, d.agency_id, l.fix_time, ST_X(l.geom), ST_Y(l.geom),
       EXISTS (SELECT 1 FROM duty_periods p WHERE p.device_id = l.device_id
               AND %(now)s BETWEEN p.starts_at AND p.ends_at) AS on_duty,
       EXISTS (SELECT 1 FROM duty_periods p WHERE p.device_id = l.device_id) AS has_schedule
FROM device_latest l JOIN devices d ON d.id = l.device_id
WHERE d.active AND d.kind <> 'sensor'
"""


async def silent_inputs(
    conn: psycopg.AsyncConnection, now: datetime
) -> list[tuple[int, int, datetime, float, float, bool, bool]]:
    """(device, agency, last fix time, lon, lat, on duty now, has any duty schedule)."""
    cur = await conn.execute(_SILENT_INPUTS, {"now": now})
    return [tuple(r) for r in await cur.fetchall()]


async def set_rules(conn: psycopg.AsyncConnection, scope: str, rules: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO alert_rules (scope, rules) VALUES (%s, %s) ON CONFLICT (scope) "
        "DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()",
        (scope, json.dumps(rules)),
    )


def put_rules(conn: psycopg.Connection, scope: str, rules: dict[str, Any]) -> None:
    """Synchronous :func:`set_rules` (CLI, demo data)."""
    conn.execute(
        "INSERT INTO alert_rules (scope, rules) VALUES (%s, %s) ON CONFLICT (scope) "
        "DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()",
        (scope, json.dumps(rules)),
    )
