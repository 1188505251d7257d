"""Questions analysts ask of the links: the shortest chain between two nodes, and the repeat
offenders (entities linked to at least k seizure cases or incidents in a period).

Both run under the caller's RLS through the same visible-links query as the network walk:
a chain never passes through a row the caller may not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from geomon.store import links as link_store
from geomon.store.network import (
    Network,
    Node,
    by_type,
    ends,
    labelled,
    learn,
    visible,
    visible_seeds,
)

_REPEAT = """
SELECT e.id, a.code AS agency, e.kind, e.identity, e.label,
  count(DISTINCT l.case_id) + count(DISTINCT l.incident_id) AS linked,
  coalesce(array_agg(DISTINCT l.case_id) FILTER (WHERE l.case_id IS NOT NULL), '{}') AS case_ids,
  coalesce(array_agg(DISTINCT l.incident_id) FILTER (WHERE l.incident_id IS NOT NULL), '{}')
    AS incident_ids,
  min(coalesce(c.occurred_at, i.occurred_at)) AS first_at,
  max(coalesce(c.occurred_at, i.occurred_at)) AS last_at
FROM links l
JOIN entities e ON e.id = l.entity_id AND e.deleted_at IS NULL
JOIN agencies a ON a.id = e.agency_id
LEFT JOIN cases c ON c.id = l.case_id AND c.deleted_at IS NULL
LEFT JOIN incidents i ON i.id = l.incident_id
WHERE l.deleted_at IS NULL AND (c.id IS NOT NULL OR i.id IS NOT NULL)
  AND (%(kind)s::text IS NULL OR e.kind = %(kind)s)
  AND (%(since)s::timestamptz IS NULL OR coalesce(c.occurred_at, i.occurred_at) >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR coalesce(c.occurred_at, i.occurred_at) < %(until)s)
GROUP BY e.id, a.code
HAVING count(DISTINCT l.case_id) + count(DISTINCT l.incident_id) >= %(at_least)s
ORDER BY linked DESC, e.id
LIMIT %(limit)s
"""


async def repeat_offenders(
    conn: psycopg.AsyncConnection,
    *,
    at_least: int,
    since: datetime | None = None,
    until: datetime | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Entities directly linked to ``at_least`` distinct cases and incidents whose time falls
    in [since, until), most linked first."""
    params = {"at_least": at_least, "since": since, "until": until, "kind": kind, "limit": limit}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_REPEAT, params)
        return await cur.fetchall()


def _chain(parents: dict[Node, tuple[Node, dict[str, Any]] | None], end: Node) -> list[Any]:
    out: list[Any] = []
    node: Node | None = end
    while node is not None:
        step = parents[node]
        out.append((node, None if step is None else step[1]))
        node = None if step is None else step[0]
    return out[::-1]


async def shortest_path(
    conn: psycopg.AsyncConnection, start: Node, end: Node, *, max_depth: int, max_nodes: int
) -> Network | None:
    """The shortest chain of visible links from ``start`` to ``end`` (links in either
    direction), breadth-first up to ``max_depth`` links and ``max_nodes`` nodes visited;
    None when there is none within those bounds. Both ends must be visible (NotFound)."""
    known: dict[Node, dict[str, Any]] = {}
    await visible_seeds(conn, [start, end], known)
    parents: dict[Node, tuple[Node, dict[str, Any]] | None] = {start: None}
    frontier, steps = [start], 0
    while frontier and end not in parents and steps < max_depth and len(parents) < max_nodes:
        rows = await link_store.touching(conn, by_type(set(frontier)), limit=max_nodes * 10)
        shown = await visible(conn, {n for row in rows for n in ends(row)} - set(parents))
        level = set(frontier)
        nxt: list[Node] = []
        for row in rows:
            a, b = ends(row)
            for here, there in ((a, b), (b, a)):
                if here in level and there not in parents and there in shown:
                    parents[there] = (here, row)
                    nxt.append(there)
        frontier, steps = sorted(nxt), steps + 1
    if end not in parents:
        return None
    chain = _chain(parents, end)
    await learn(conn, {n for n, _ in chain}, known)
    nodes = [known[n] for n, _ in chain]
    for n in nodes:
        n["seed"] = n["key"] in (nodes[0]["key"], nodes[-1]["key"])
    links = labelled([x for _, x in chain if x is not None], known)
    return Network(nodes, links, len(chain) - 1)


_TOGETHER = """
WITH mine AS (
  SELECT o.id, o.observed_at, d.id AS sensor_id, d.place_id
  FROM observations o JOIN devices d ON d.id = o.sensor_id
  WHERE o.plate_norm = %(plate)s AND o.observed_at >= %(since)s AND o.observed_at < %(until)s
  ORDER BY o.observed_at DESC LIMIT %(max_reads)s
), near AS (
  SELECT m.id AS mine_id, o.plate_norm, o.observed_at, coalesce(p.name, d.uid) AS post
  FROM mine m
  JOIN devices d ON d.id = m.sensor_id OR (m.place_id IS NOT NULL AND d.place_id = m.place_id)
  JOIN observations o ON o.sensor_id = d.id
    AND o.observed_at >= m.observed_at - make_interval(secs => %(window_s)s)
    AND o.observed_at <= m.observed_at + make_interval(secs => %(window_s)s)
  LEFT JOIN places p ON p.id = d.place_id
  WHERE o.plate_norm IS NOT NULL AND o.plate_norm <> %(plate)s
)
SELECT plate_norm AS plate, count(DISTINCT mine_id) AS times,
  array_agg(DISTINCT post ORDER BY post) AS posts,
  min(observed_at) AS first_at, max(observed_at) AS last_at
FROM near GROUP BY plate_norm
HAVING count(DISTINCT mine_id) >= %(at_least)s
ORDER BY times DESC, plate_norm LIMIT %(limit)s
"""
_VEHICLES = (
    "SELECT plate, min(id) AS id, min(label) AS label FROM entities "
    "WHERE kind = 'vehicle' AND plate = ANY(%s) AND deleted_at IS NULL GROUP BY plate"
)


async def read_together(
    conn: psycopg.AsyncConnection,
    plate: str,
    *,
    since: datetime,
    until: datetime,
    window_s: int,
    at_least: int = 1,
    limit: int = 100,
    max_reads: int = 5000,
) -> list[dict[str, Any]]:
    """Other plates read at the same post (a sensor, or every sensor of its place) within
    ``window_s`` seconds of a read of ``plate`` in [since, until): how many of its reads they
    shared, where, first and last, and the vehicle entity of that plate when there is one.
    Only reads the caller may see count (both sides under RLS); the newest ``max_reads`` reads
    of ``plate`` are looked at."""
    params = {"plate": plate, "since": since, "until": until, "window_s": window_s}
    params.update(at_least=at_least, limit=limit, max_reads=max_reads)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_TOGETHER, params)
        rows = await cur.fetchall()
        await cur.execute(_VEHICLES, ([r["plate"] for r in rows],))
        vehicles = {v["plate"]: v for v in await cur.fetchall()}
    for r in rows:
        v = vehicles.get(r["plate"])
        r["entity_id"], r["entity_label"] = (v["id"], v["label"]) if v else (None, None)
    return rows
