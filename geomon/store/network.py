"""The neighbourhood of a few nodes through visible links, walked breadth-first, bounded.

Per step one query for the links touching the frontier and one primary-key lookup per kind
of row for which new ends the caller may see under RLS (deleted entities and cases are not
there), the nodes described once at the end, at most ``depth`` steps and
``max_nodes`` nodes: when the next step would pass the cap the walk stops
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


async def learn(
    conn: psycopg.AsyncConnection, nodes: set[Node], known: dict[Node, dict[str, Any]]
) -> None:
    """Add to ``known`` the node dicts of those ``nodes`` the caller may see (entities with
    their columns, other rows with type, label and time); invisible ones stay out."""
    grouped = by_type({n for n in nodes if n not in known})
    for entity in await search_by_ids(conn, grouped.pop("entity")):
        node = ("entity", int(entity["id"]))
        known[node] = {**entity, "key": node_key(node), "type": entity["kind"]}
    for kind, ids in grouped.items():
        if not ids:
            continue
        for i, (typ, label, at) in (await link_store.visible_targets(conn, kind, ids)).items():
            known[(kind, i)] = {"key": node_key((kind, i)), "id": i, "type": typ, "label": label}
            known[(kind, i)]["at"] = at


async def visible(conn: psycopg.AsyncConnection, nodes: set[Node]) -> set[Node]:
    """The ``nodes`` the caller may see (and that are not deleted)."""
    return await link_store.visible_ids(conn, by_type(nodes))


async def visible_seeds(
    conn: psycopg.AsyncConnection, seeds: list[Node], known: dict[Node, dict[str, Any]]
) -> None:
    await learn(conn, set(seeds), known)
    for kind, i in seeds:
        if (kind, i) not in known:
            raise NotFound(f"no {kind} {i}")


def labelled(links: list[dict[str, Any]], known: dict[Node, dict[str, Any]]) -> list[Any]:
    """The links with ``entity_label`` and ``to_label`` from the described nodes."""
    for link in links:
        a, b = ends(link)
        link["entity_label"], link["to_label"] = known[a]["label"], known[b]["label"]
    return links


async def network(
    conn: psycopg.AsyncConnection, seeds: list[Node], *, depth: int, max_nodes: int
) -> Network:
    """The nodes within ``depth`` links of ``seeds`` (each must be visible: NotFound)."""
    known: dict[Node, dict[str, Any]] = {}
    await visible_seeds(conn, seeds, known)
    seen: set[Node] = set(seeds)
    links: dict[int, dict[str, Any]] = {}
    frontier, steps, truncated = set(seeds), 0, False
    while frontier and steps < depth and not truncated:
        cap = max_nodes * 10
        rows = await link_store.touching(conn, by_type(frontier), limit=cap)
        truncated = len(rows) >= cap
        new = await visible(conn, {n for row in rows for n in ends(row) if n not in seen})
        if len(seen) + len(new) > max_nodes:
            new = set(sorted(new)[: max_nodes - len(seen)])
            truncated = True
        seen |= new
        links.update((row["id"], row) for row in rows if all(n in seen for n in ends(row)))
        frontier, steps = new, steps + 1
    await learn(conn, seen, known)
    seen = {n for n in seen if n in known}  # a row deleted meanwhile drops out
    kept = [x for _, x in sorted(links.items()) if all(n in seen for n in ends(x))]
    starts = {node_key(n) for n in seeds}
    nodes = sorted((known[n] for n in seen), key=lambda n: n["key"])
    for node in nodes:
        node["seed"] = node["key"] in starts
    return Network(nodes, labelled(kept, known), steps, truncated)
