"""Matching committed plate reads against active watch-list entries, in the writer's
transaction: the ``watchlist_hit`` / ``watchlist_possible`` events commit with the reads, and
their NOTIFY and webhook/MQTT outbox rows (geomon.store.events.announce_new) with them.

Who is alarmed: an agency that may see both the entry and the read — the entry's agency when
the read is its own post's or shared with it (scope ``observations``), and the post's agency
when the entry is shared with it (scope ``watchlists``). One event per read, entry and agency
(``event_key`` = kind:observation:entry:agency, so a resend raises nothing new).

An entry is active for a read when it is not removed and ``valid_from <= received_at <
valid_until``: matching is against the list as it stands when the read arrives (a camera's
clock or a buffered read from before the entry was added still alarms); an entry's country,
when set, must equal the read's when the read has one.
Exact entries match on ``plate`` (btree), patterns by ``LIKE``; a read below
:data:`geomon.watchlists.NEAR_MISS_BELOW_CONFIDENCE` (or without a confidence) that hits
nothing for an agency is looked up in the near-miss index (``watchlist_near``, one row per
one-character deletion of an entry) and the candidates kept only when one edit apart
(:func:`geomon.watchlists.one_edit_apart`).
"""

from __future__ import annotations

from typing import Any

import psycopg

from geomon import watchlists as domain
from geomon.store.events import announce_new

_READS = """
r AS MATERIALIZED (
  SELECT o.id, o.received_at, o.plate_norm, o.plate_country, o.value, o.sensor_id,
         d.agency_id AS post_agency
  FROM observations o JOIN devices d ON d.id = o.sensor_id
  WHERE o.id = ANY(%(ids)s) AND o.plate_norm IS NOT NULL
)"""

_ACTIVE = """w.removed_at IS NULL AND w.valid_from <= r.received_at
  AND (w.valid_until IS NULL OR r.received_at < w.valid_until)
  AND (w.country IS NULL OR r.plate_country IS NULL OR w.country = r.plate_country)"""

# (agency to alarm) for a read r and an entry w: see the module docstring.
_WHO = """CROSS JOIN LATERAL (
  SELECT w.agency_id WHERE w.agency_id = r.post_agency OR EXISTS (
    SELECT 1 FROM agency_shares s WHERE s.from_agency_id = r.post_agency
      AND s.to_agency_id = w.agency_id AND s.scope IN ('observations', 'all'))
  UNION
  SELECT r.post_agency WHERE w.agency_id <> r.post_agency AND EXISTS (
    SELECT 1 FROM agency_shares s WHERE s.from_agency_id = w.agency_id
      AND s.to_agency_id = r.post_agency AND s.scope IN ('watchlists', 'all'))
) x(agency_id)"""

_HITS = f"""
WITH {_READS}
SELECT r.id, w.id, x.agency_id, w.priority, 'exact'
FROM r JOIN watchlist_entries w ON w.plate = r.plate_norm AND NOT w.is_pattern AND {_ACTIVE}
{_WHO}
UNION ALL
SELECT r.id, w.id, x.agency_id, w.priority, 'pattern'
FROM r JOIN watchlist_entries w ON w.is_pattern AND r.plate_norm LIKE w.like_pattern
  AND {_ACTIVE}
{_WHO}
"""

# Candidates one shared deletion away (two btree scans: watchlist_near.del, entries' plate;
# migration 0031 says why not the GIN index on near), for
# low-confidence reads only; the exact one-edit check runs in Python (a shared deletion also
# admits two-edit shifts). MATERIALIZED: the deletions are computed once per read, not once
# per entry compared.
_NEAR = f"""
WITH {_READS},
rd AS MATERIALIZED (
  SELECT r.*, ARRAY(SELECT left(r.plate_norm, i - 1) || substr(r.plate_norm, i + 1)
                    FROM generate_series(1, length(r.plate_norm)) i) AS dels
  FROM r WHERE length(r.plate_norm) >= 2 AND (r.value IS NULL OR r.value < %(below)s)
),
cand AS (
  SELECT rd.id AS obs, n.entry_id AS entry FROM rd JOIN watchlist_near n
    ON n.del = ANY(rd.dels || rd.plate_norm)
  UNION
  SELECT rd.id, w.id FROM rd JOIN watchlist_entries w
    ON w.plate = ANY(rd.dels) AND w.removed_at IS NULL AND NOT w.is_pattern
)
SELECT r.id, w.id, x.agency_id, w.priority, w.plate, r.plate_norm
FROM cand JOIN rd r ON r.id = cand.obs JOIN watchlist_entries w ON w.id = cand.entry
  AND NOT w.is_pattern AND w.plate <> r.plate_norm AND {_ACTIVE}
{_WHO}
"""

_INSERT = """
INSERT INTO events (agency_id, device_id, kind, severity, occurred_at, geom, attrs, event_key)
SELECT m.agency_id, o.sensor_id, m.kind, m.severity, o.observed_at, o.geom,
       jsonb_build_object(
         'observation_id', o.id, 'plate', o.text, 'plate_norm', o.plate_norm,
         'plate_country', o.plate_country, 'confidence', o.value, 'sensor', d.uid,
         'match', m.how, 'entry_id', w.id, 'entry_plate', w.plate, 'entry_agency', a.code,
         'list', w.list_name, 'reason', w.reason, 'priority', w.priority, 'source', 'watchlist')
       || jsonb_strip_nulls(jsonb_build_object('lane', o.attrs->'lane',
                                               'direction', o.attrs->'direction',
                                               'image_ref', o.attrs->'image_ref')),
       m.kind || ':' || o.id || ':' || w.id || ':' || m.agency_id
FROM unnest(%(obs)s::bigint[], %(entry)s::bigint[], %(agency)s::int[], %(kind)s::text[],
            %(sev)s::text[], %(how)s::text[]) AS m(obs, entry, agency_id, kind, severity, how)
JOIN observations o ON o.id = m.obs
JOIN devices d ON d.id = o.sensor_id
JOIN watchlist_entries w ON w.id = m.entry
JOIN agencies a ON a.id = w.agency_id
ON CONFLICT (event_key) DO NOTHING
RETURNING id
"""


async def match_plate_reads(
    conn: psycopg.AsyncConnection,
    reads: list[tuple[int, float | None]],
    *,
    near_below: float = domain.NEAR_MISS_BELOW_CONFIDENCE,
) -> list[int]:
    """Raise the watch-list events of newly stored plate reads, given as (observation id,
    confidence); returns the new event ids. Only low-confidence reads cost the near-miss
    query."""
    if not reads:
        return []
    cur = await conn.execute(_HITS, {"ids": [i for i, _ in reads]})
    rows: list[tuple[Any, ...]] = [
        (obs, entry, agency, domain.HIT_KIND, domain.HIT_SEVERITY[prio], how)
        for obs, entry, agency, prio, how in await cur.fetchall()
    ]
    unsure = [i for i, conf in reads if conf is None or conf < near_below]
    if unsure:
        hit = {(r[0], r[2]) for r in rows}  # (read, agency) alarmed: no possible matches
        cur = await conn.execute(_NEAR, {"ids": unsure, "below": near_below})
        rows += [
            (obs, entry, agency, domain.POSSIBLE_KIND, domain.POSSIBLE_SEVERITY[prio], "near")
            for obs, entry, agency, prio, plate, read in await cur.fetchall()
            if (obs, agency) not in hit and domain.one_edit_apart(plate, read)
        ]
    if not rows:
        return []
    cols = list(zip(*rows, strict=True))
    names = ("obs", "entry", "agency", "kind", "sev", "how")
    cur = await conn.execute(_INSERT, {n: list(c) for n, c in zip(names, cols, strict=True)})
    ids = [int(r[0]) for r in await cur.fetchall()]
    await announce_new(conn, ids)
    return ids
