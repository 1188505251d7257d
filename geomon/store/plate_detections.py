"""Journey detections over stored plate reads, raising events through the common path
(events rows + :func:`geomon.store.events.announce_new`): ``plate_cloned``, ``plate_convoy``
and ``plate_overstay`` (docs/plates.md).

Cloned plates and convoys look at the reads stored since the last look (an id cursor, so late
reads are looked at too); overstays at the entry reads that have just become N days old (a
time cursor). Every event has a deterministic ``event_key``, so looking twice raises nothing
twice. An agency is only told what it may see: an event goes to an agency that may see every
read it names (its own posts, or posts whose agency shares ``observations`` with it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from geomon.store.events import announce_new

# Agency X may see reads of a post of agency P.
_SEES = """({x} = {p} OR EXISTS (SELECT 1 FROM agency_shares s WHERE s.from_agency_id = {p}
        AND s.to_agency_id = {x} AND s.scope IN ('observations', 'all')))"""

_NEW_READS = """
r AS (
  SELECT o.id, o.plate_norm, o.observed_at, o.geom, o.sensor_id, d.agency_id,
         coalesce(d.place_id, -d.id) AS post, d.uid, p.name AS place
  FROM observations o JOIN devices d ON d.id = o.sensor_id LEFT JOIN places p ON p.id = d.place_id
  WHERE o.id > %(after)s AND o.id <= %(upto)s AND o.plate_norm IS NOT NULL
    AND o.kind = 'plate_read'
)"""

_CLONED = f"""
WITH {_NEW_READS},
pair AS (
  SELECT r.*, q.id AS q_id, q.observed_at AS q_at, q.agency_id AS q_agency, q.uid AS q_uid,
         q.place AS q_place, ST_Distance(r.geom::geography, q.geom::geography) / 1000 AS km,
         abs(extract(epoch FROM r.observed_at - q.observed_at)) AS secs
  FROM r CROSS JOIN LATERAL (
    (SELECT o.id, o.observed_at, o.geom, d.agency_id, d.uid, p.name AS place
     FROM observations o JOIN devices d ON d.id = o.sensor_id
     LEFT JOIN places p ON p.id = d.place_id
     WHERE o.plate_norm = r.plate_norm AND (o.observed_at, o.id) < (r.observed_at, r.id)
     ORDER BY o.observed_at DESC, o.id DESC LIMIT 1)
    UNION ALL
    (SELECT o.id, o.observed_at, o.geom, d.agency_id, d.uid, p.name
     FROM observations o JOIN devices d ON d.id = o.sensor_id
     LEFT JOIN places p ON p.id = d.place_id
     WHERE o.plate_norm = r.plate_norm AND (o.observed_at, o.id) > (r.observed_at, r.id)
     ORDER BY o.observed_at, o.id LIMIT 1)
  ) q
  WHERE r.geom IS NOT NULL AND q.geom IS NOT NULL
),
fast AS (
  SELECT * FROM pair
  WHERE km >= %(min_km)s AND km / greatest(secs, 1) * 3600 > %(max_kmh)s
)
INSERT INTO events (agency_id, device_id, kind, severity, occurred_at, geom, attrs, event_key)
SELECT x.agency_id,
       CASE WHEN f.observed_at >= f.q_at THEN f.sensor_id ELSE
         (SELECT sensor_id FROM observations WHERE id = f.q_id) END,
       'plate_cloned', 'critical', greatest(f.observed_at, f.q_at),
       CASE WHEN f.observed_at >= f.q_at THEN f.geom ELSE
         (SELECT geom FROM observations WHERE id = f.q_id) END,
       jsonb_build_object('plate_norm', f.plate_norm, 'source', 'journey',
         'reads', jsonb_build_array(
           jsonb_build_object('observation_id', least(f.id, f.q_id)),
           jsonb_build_object('observation_id', greatest(f.id, f.q_id))),
         'posts', CASE WHEN f.observed_at < f.q_at
           THEN jsonb_build_array(coalesce(f.place, f.uid), coalesce(f.q_place, f.q_uid))
           ELSE jsonb_build_array(coalesce(f.q_place, f.q_uid), coalesce(f.place, f.uid)) END,
         'distance_km', round(f.km::numeric, 1), 'minutes', round((f.secs / 60)::numeric, 1),
         'speed_kmh', round((f.km / greatest(f.secs, 1) * 3600)::numeric),
         'max_speed_kmh', %(max_kmh)s),
       'plate_cloned:' || least(f.id, f.q_id) || ':' || greatest(f.id, f.q_id) || ':' || x.agency_id
FROM fast f
CROSS JOIN LATERAL (SELECT f.agency_id UNION SELECT f.q_agency) x(agency_id)
WHERE {_SEES.format(x="x.agency_id", p="f.agency_id")}
  AND {_SEES.format(x="x.agency_id", p="f.q_agency")}
ON CONFLICT DO NOTHING
RETURNING id
"""

# Partners of a new read: the reads at its post (the sensors of its agency at its place)
# within w, at most CONVOY_NEIGHBOURS before and after it — at a busy post a window holds
# thousands of vehicles, and a convoy drives close together (this bounds each look's work).
CONVOY_NEIGHBOURS = 10
_PARTNERS = """(
    SELECT o.plate_norm FROM observations o JOIN devices d ON d.id = o.sensor_id
    WHERE o.observed_at {cmp} r.observed_at AND o.observed_at {cmp2} r.observed_at {sign} %(w)s
      AND o.kind = 'plate_read' AND o.plate_norm IS NOT NULL AND o.plate_norm <> r.plate_norm
      AND d.agency_id = r.agency_id AND coalesce(d.place_id, -d.id) = r.post
    ORDER BY o.observed_at {order} LIMIT {n})"""

# Occasions when plates a and b crossed post (of agency g) within w: reads of a with a read
# of b within w, runs closer than 2w counted once (several lanes or cameras of one crossing).
_CONVOY = f"""
WITH {_NEW_READS},
pair AS (
  SELECT DISTINCT least(r.plate_norm, q.plate_norm) AS a, greatest(r.plate_norm, q.plate_norm)
         AS b, r.post, r.agency_id
  FROM r CROSS JOIN LATERAL (
    {_PARTNERS.format(cmp="<=", cmp2=">=", sign="-", order="DESC", n=CONVOY_NEIGHBOURS)}
    UNION ALL
    {_PARTNERS.format(cmp=">", cmp2="<=", sign="+", order="", n=CONVOY_NEIGHBOURS)}
  ) q
),
counted AS (
  SELECT pair.*, c.n, c.last_id
  FROM pair CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE prev IS NULL OR t - prev > 2 * %(w)s) AS n, max(id) AS last_id
    FROM (
      SELECT o.id, o.observed_at AS t, lag(o.observed_at) OVER (ORDER BY o.observed_at) AS prev
      FROM observations o JOIN devices d ON d.id = o.sensor_id
      WHERE o.plate_norm = pair.a AND o.observed_at > now() - %(lookback)s
        AND d.agency_id = pair.agency_id AND coalesce(d.place_id, -d.id) = pair.post
        AND EXISTS (
          SELECT 1 FROM observations b JOIN devices db ON db.id = b.sensor_id
          WHERE b.plate_norm = pair.b
            AND b.observed_at BETWEEN o.observed_at - %(w)s AND o.observed_at + %(w)s
            AND db.agency_id = pair.agency_id AND coalesce(db.place_id, -db.id) = pair.post)
    ) s
  ) c
  WHERE c.n >= %(k)s
)
INSERT INTO events (agency_id, device_id, kind, severity, occurred_at, geom, attrs,
                    event_key, dedupe_key)
SELECT c.agency_id, o.sensor_id, 'plate_convoy', 'warning', o.observed_at, o.geom,
       jsonb_build_object('plates', jsonb_build_array(c.a, c.b), 'times', c.n,
         'place', p.name, 'sensor', d.uid, 'window_minutes', %(w_min)s,
         'lookback_days', %(lookback_days)s, 'source', 'journey'),
       'plate_convoy:' || c.agency_id || ':' || c.a || ':' || c.b || ':' || c.n,
       'plate_convoy:' || c.agency_id || ':' || c.a || ':' || c.b
FROM counted c JOIN observations o ON o.id = c.last_id
JOIN devices d ON d.id = o.sensor_id LEFT JOIN places p ON p.id = d.place_id
ON CONFLICT DO NOTHING
RETURNING id
"""

# Entry reads that became N days old in (from, to]: no exit read (direction out) of the
# plate after it that its post's agency may see, and no later entry (that one is judged on
# its own).
_OVERSTAY = f"""
INSERT INTO events (agency_id, device_id, kind, severity, occurred_at, geom, attrs, event_key)
SELECT d.agency_id, o.sensor_id, 'plate_overstay', 'warning', o.observed_at, o.geom,
       jsonb_build_object('plate_norm', o.plate_norm, 'plate', o.text, 'entered_at',
         o.observed_at, 'place', p.name, 'sensor', d.uid, 'days', %(days)s,
         'observation_id', o.id, 'source', 'journey'),
       'plate_overstay:' || o.id
FROM observations o JOIN devices d ON d.id = o.sensor_id LEFT JOIN places p ON p.id = d.place_id
WHERE o.observed_at > %(from)s AND o.observed_at <= %(to)s AND o.kind = 'plate_read'
  AND o.plate_norm IS NOT NULL AND o.attrs->>'direction' = 'in'
  AND NOT EXISTS (
    SELECT 1 FROM observations x JOIN devices dx ON dx.id = x.sensor_id
    WHERE x.plate_norm = o.plate_norm AND x.observed_at > o.observed_at
      AND x.attrs->>'direction' IN ('out', 'in') AND x.id <> o.id
      AND {_SEES.format(x="d.agency_id", p="dx.agency_id")})
ON CONFLICT DO NOTHING
RETURNING id
"""


async def last_observation_id(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT coalesce(max(id), 0) FROM observations")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _raise(conn: psycopg.AsyncConnection, sql: str, params: dict[str, Any]) -> list[int]:
    cur = await conn.execute(sql, params)
    ids = [int(r[0]) for r in await cur.fetchall()]
    await announce_new(conn, ids)
    return ids


async def raise_cloned(
    conn: psycopg.AsyncConnection,
    after_id: int,
    upto_id: int,
    *,
    max_speed_kmh: float,
    min_distance_km: float,
) -> list[int]:
    """``plate_cloned`` for reads in (after_id, upto_id] too fast from their neighbours."""
    params = {"after": after_id, "upto": upto_id, "max_kmh": max_speed_kmh,
              "min_km": min_distance_km}  # fmt: skip
    return await _raise(conn, _CLONED, params)


async def raise_convoys(
    conn: psycopg.AsyncConnection,
    after_id: int,
    upto_id: int,
    *,
    window_minutes: float,
    times: int,
    lookback_days: float,
) -> list[int]:
    """``plate_convoy`` for pairs, among reads in (after_id, upto_id], that crossed one post
    together at least ``times`` times within the lookback."""
    from datetime import timedelta

    params = {"after": after_id, "upto": upto_id, "w": timedelta(minutes=window_minutes),
              "w_min": window_minutes, "k": times, "lookback": timedelta(days=lookback_days),
              "lookback_days": lookback_days}  # fmt: skip
    return await _raise(conn, _CONVOY, params)


async def raise_overstays(
    conn: psycopg.AsyncConnection, entered_after: datetime, entered_until: datetime, days: float
) -> list[int]:
    """``plate_overstay`` for entries in (entered_after, entered_until] with no exit since."""
    params = {"from": entered_after, "to": entered_until, "days": days}
    return await _raise(conn, _OVERSTAY, params)
