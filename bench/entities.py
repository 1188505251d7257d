"""The network walk (``geomon.store.network.network``) at agency scale, against a plain
breadth-first walk over the same links in the same run.

    GEOMON_DB__URL=$(scripts/dev-db) .venv/bin/python bench/entities.py [--entities 100000]

Creates its own database on the server of GEOMON_DB__URL (dropped at the end): one agency
with N entities (persons, vehicles, phones), 3·N links between random pairs and N/10 cases
each linked to two entities. Then, from the same random seeds, times

- **ours**: ``network(conn, [("entity", seed)], depth, max_nodes)`` as the API runs it — the
  app's RLS context (``geomon.system`` off, the agency, analyst), both ends of every link
  joined under RLS, node rows described at the end;
- **baseline**: the same breadth-first walk as the owner with one bare query per step
  (``SELECT entity_id, other_entity_id, case_id FROM links WHERE … = ANY(frontier)``), no
  RLS, no joins, no node rows.

Prints p50/p95 of each, the ratio ours/baseline (no goal yet: it is the price of row-level
security, the visibility checks of every far end and the node rows), and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomon.store import databases, migrate  # noqa: E402
from geomon.store.devices import ensure_agency  # noqa: E402
from geomon.store.network import network  # noqa: E402

KINDS = ("person", "vehicle", "phone")


def seed(url: str, n: int) -> int:
    """INSERT … SELECT (COPY FROM is refused on tables under row-level security)."""
    with psycopg.connect(url) as conn:
        agency = ensure_agency(conn, "BENCH")
        conn.execute("SELECT setseed(0.17)")
        conn.execute(
            "INSERT INTO entities (agency_id, kind, identity, label) "
            "SELECT %s, (ARRAY['person', 'vehicle', 'phone'])[g %% 3 + 1], 'E' || g, "
            "'entity ' || g FROM generate_series(0, %s - 1) g",
            (agency, n),
        )
        conn.execute(
            "INSERT INTO cases (agency_id, external_id, category, occurred_at, geom) "
            "SELECT %s, 'B' || g, 'drug_seizure', now() - g * interval '1 hour', "
            "ST_SetSRID(ST_MakePoint(70, 40), 4326) FROM generate_series(1, %s) g",
            (agency, n // 10),
        )
        lo = conn.execute("SELECT min(id) FROM entities").fetchone()
        clo = conn.execute("SELECT min(id) FROM cases").fetchone()
        assert lo is not None and clo is not None
        conn.execute(
            "INSERT INTO links (agency_id, kind, entity_id, other_entity_id) "
            "SELECT %(a)s, 'associate', a, b FROM (SELECT %(lo)s + floor(random() * %(n)s)::int a, "
            "%(lo)s + floor(random() * %(n)s)::int b FROM generate_series(1, 3 * %(n)s)) p "
            "WHERE a <> b",
            {"a": agency, "lo": lo[0], "n": n},
        )
        conn.execute(
            "INSERT INTO links (agency_id, kind, entity_id, case_id) "
            "SELECT %(a)s, 'involved_in', %(lo)s + floor(random() * %(n)s)::int, %(clo)s + c "
            "FROM generate_series(0, %(n)s / 10 - 1) c, generate_series(1, 2)",
            {"a": agency, "lo": lo[0], "clo": clo[0], "n": n},
        )
        conn.execute("ANALYZE entities")
        conn.execute("ANALYZE links")
        conn.execute("ANALYZE cases")
    return agency


def baseline(conn: psycopg.Connection, start: int, depth: int, max_nodes: int) -> int:
    seen = {("entity", start)}
    frontier = set(seen)
    for _ in range(depth):
        ents = [i for k, i in frontier if k == "entity"]
        cases = [i for k, i in frontier if k == "case"]
        rows = conn.execute(
            "SELECT entity_id, other_entity_id, case_id FROM links WHERE deleted_at IS NULL "
            "AND (entity_id = ANY(%s) OR other_entity_id = ANY(%s) OR case_id = ANY(%s)) "
            "LIMIT %s",
            (ents, ents, cases, max_nodes * 10),
        ).fetchall()
        new = set()
        for e, o, c in rows:
            for node in (("entity", e), ("entity", o) if o else ("case", c)):
                if node not in seen:
                    new.add(node)
        if len(seen) + len(new) > max_nodes:
            new = set(sorted(new)[: max_nodes - len(seen)])
        seen |= new
        frontier = new
        if len(seen) >= max_nodes:
            break
    return len(seen)


async def ours(url: str, agency: int, starts: list[int], depth: int, max_nodes: int) -> list[float]:
    out = []
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for s in starts:
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('geomon.system', 'off', true), "
                    "set_config('geomon.agency_id', %s, true), "
                    "set_config('geomon.role', 'analyst', true)",
                    (str(agency),),
                )
                net = await network(conn, [("entity", s)], depth=depth, max_nodes=max_nodes)
            out.append(time.perf_counter() - t0)
            assert net.nodes
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--max-nodes", type=int, default=300)
    ap.add_argument("--walks", type=int, default=50)
    args = ap.parse_args()
    base_url = os.environ["GEOMON_DB__URL"]
    url = databases.create_database(base_url, "geomon_bench_entities")
    try:
        migrate.upgrade(url)
        print(f"load before: {os.getloadavg()[0]:.1f}")
        t0 = time.perf_counter()
        agency = seed(url, args.entities)
        print(
            f"seeded {args.entities} entities, {3 * args.entities + args.entities // 5} links "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        with psycopg.connect(url) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM entities ORDER BY random() LIMIT %s", (args.walks,)
                )
            ]
            base = []
            for s in ids:
                t = time.perf_counter()
                baseline(conn, s, args.depth, args.max_nodes)
                base.append(time.perf_counter() - t)
        mine = asyncio.run(ours(url, agency, ids, args.depth, args.max_nodes))
        for name, xs in (("ours", mine), ("baseline", base)):
            q = statistics.quantiles(xs, n=20)
            print(
                f"{name:>9}: p50 {statistics.median(xs) * 1000:.1f} ms, p95 {q[18] * 1000:.1f} ms"
            )
        ratio = statistics.median(mine) / statistics.median(base)
        print(f"ratio ours/baseline (p50): {ratio:.2f}")
        print(f"load after: {os.getloadavg()[0]:.1f}")
    finally:
        databases.drop_database(base_url, url)


if __name__ == "__main__":
    main()
