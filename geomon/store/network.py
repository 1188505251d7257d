"""The neighbourhood of a few nodes through visible links, walked breadth-first, bounded.

One query per step (links touching the frontier, both ends visible under RLS), at most
``depth`` steps and ``max_nodes`` nodes: when the next step would pass the cap the walk stops
there and says ``truncated``. Nodes are ``(type, id)`` with type ``entity``, ``case``,
``incident``, ``observation`` or ``event``; seizures and plate reads are walked through too,
so two persons of one case are two steps apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from geomon.errors import NotFound
from geomon.store import links as link_store
from geomon.store.entities import search_by_ids
from geomon.store.schema_entities import TARGET_COLUMNS

Node = tuple[str, int]


@dataclass
class Network:
    """Nodes (dicts with ``key``, ``type``, ``id``, ``label``, …) and links between them."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    depth: int = 0
    truncated: bool = False


def node_key(node: Node) -> str:
    return f"{node[0]}:{node[1]}"


def ends(link: dict[str, Any]) -> tuple[Node, Node]:
    return ("entity", int(link["entity_id"])), (str(link["to_kind"]), int(link["to_id"]))


def by_type(nodes: set[Node]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {k: [] for k in TARGET_COLUMNS}
    for kind, i in sorted(nodes):
        out[kind].append(i)
    return out


async def describe(conn: psycopg.AsyncConnection, nodes: set[Node]) -> list[dict[str, Any]]:
    """Node dicts for visible nodes: entities with their columns, other rows with a label."""
    grouped, out = by_type(nodes), []
    for entity in await search_by_ids(conn, grouped.pop("entity")):
        out.append({**entity, "key": node_key(("entity", entity["id"])), "type": entity["kind"]})
    for kind, ids in grouped.items():
        if not ids:
            continue
        for i, (typ, label, at) in (await link_store.visible_targets(conn, kind, ids)).items():
            out.append({"key": node_key((kind, i)), "id": i, "type": typ, "label": label, "at": at})
    return sorted(out, key=lambda n: n["key"])


async def network(
    conn: psycopg.AsyncConnection, seeds: list[Node], *, depth: int, max_nodes: int
) -> Network:
    """The nodes within ``depth`` links of ``seeds`` (each must be visible: NotFound)."""
    for kind, i in seeds:
        await link_store.require_visible(conn, kind, i)
    seen: set[Node] = set(seeds)
    frontier, links, steps, truncated = set(seeds), {}, 0, False
    while frontier and steps < depth and not truncated:
        cap = max_nodes * 10
        rows = await link_store.touching(conn, by_type(frontier), limit=cap)
        truncated = len(rows) >= cap
        new: set[Node] = set()
        for row in rows:
            new.update(n for n in ends(row) if n not in seen)
        if len(seen) + len(new) > max_nodes:
            new = set(sorted(new)[: max_nodes - len(seen)])
            truncated = True
        seen |= new
        for row in rows:
            a, b = ends(row)
            if a in seen and b in seen:
                links[row["id"]] = row
        frontier, steps = new, steps + 1
    if not seen:
        raise NotFound("no such nodes")
    described = await describe(conn, seen)
    starts = {node_key(n) for n in seeds}
    for node in described:
        node["seed"] = node["key"] in starts
    return Network(described, [links[k] for k in sorted(links)], steps, truncated)
