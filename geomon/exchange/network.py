"""A network of entities and links written for other tools: i2 Analyst's Notebook's tabular
import (CSV, one row per link with both ends), GraphML (Gephi, yEd, networkx; i2 through its
GraphML-capable importers), and Cytoscape.js elements for the console's link chart.

Pure: a :class:`geomon.store.network.Network` in, text or dicts out. Times are UTC.
Identities are stable across exports (``entity-5``, ``case-12``…) so that re-importing a
chart into i2 merges with the entities already on it (docs/entities.md: the import spec).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from geomon.store.network import Network

# i2 entity types (the names of Analyst's Notebook's standard icons where one fits).
I2_TYPES = {
    "person": "Person",
    "vehicle": "Vehicle",
    "phone": "Telephone",
    "organisation": "Organisation",
    "case": "Seizure",
    "incident": "Incident",
    "observation": "Plate Read",
    "event": "Event",
}
I2_COLUMNS = (
    "Entity1 Type",
    "Entity1 Identity",
    "Entity1 Label",
    "Entity1 Key",
    "Entity1 Date",
    "Entity2 Type",
    "Entity2 Identity",
    "Entity2 Label",
    "Entity2 Key",
    "Entity2 Date",
    "Link Type",
    "Link Identity",
    "Link Date From",
    "Link Date To",
    "Link Confidence",
    "Link Source",
    "Link Added By",
)
_NODE_KEYS = ("label", "type", "identity", "plate", "imei", "msisdn", "at")
_LINK_KEYS = ("kind", "source", "confidence", "valid_from", "valid_until", "added_by")
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"


def identity_of(key: str) -> str:
    """``entity:5`` → ``entity-5``: the node's identity in exports."""
    return key.replace(":", "-")


def _utc(t: Any) -> str:
    if isinstance(t, datetime):
        return t.isoformat().replace("+00:00", "Z")
    return "" if t is None else str(t)


def _date(t: Any) -> str:
    """i2 date-time column text: ``2026-11-20 08:30:00`` (UTC; the spec says so)."""
    return t.strftime("%Y-%m-%d %H:%M:%S") if isinstance(t, datetime) else ""


def _node_key_text(node: dict[str, Any]) -> str:
    return str(node.get("identity") or node.get("label") or "")


def i2_csv(net: Network) -> str:
    """One row per link (end 1 = the entity, end 2 = what it links to), then one row per
    node without links (end 2 and the link left empty)."""
    nodes = {n["key"]: n for n in net.nodes}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(I2_COLUMNS)

    def end(key: str) -> list[str]:
        n = nodes[key]
        return [
            I2_TYPES.get(n["type"], n["type"]),
            identity_of(key),
            str(n.get("label") or ""),
            _node_key_text(n),
            _date(n.get("at")),
        ]

    linked: set[str] = set()
    for link in net.links:
        a, b = f"entity:{link['entity_id']}", f"{link['to_kind']}:{link['to_id']}"
        linked.update((a, b))
        w.writerow(
            end(a)
            + end(b)
            + [
                str(link["kind"]),
                f"link-{link['id']}",
                _date(link.get("valid_from")),
                _date(link.get("valid_until")),
                "" if link.get("confidence") is None else f"{link['confidence']:g}",
                str(link.get("source") or ""),
                str(link.get("added_by") or ""),
            ]
        )
    for key in sorted(set(nodes) - linked):
        w.writerow(end(key) + [""] * (len(I2_COLUMNS) - 5))
    return out.getvalue()


def _key(parent: ET.Element, for_: str, name: str, typ: str = "string") -> None:
    ET.SubElement(
        parent,
        "key",
        {"id": f"{for_[0]}_{name}", "for": for_, "attr.name": name, "attr.type": typ},
    )


def _data(parent: ET.Element, for_: str, name: str, value: Any) -> None:
    if value is None or value == "":
        return
    d = ET.SubElement(parent, "data", {"key": f"{for_[0]}_{name}"})
    d.text = f"{value:g}" if isinstance(value, float) else _utc(value)


def graphml(net: Network) -> str:
    """GraphML 1.0: a directed graph, node ids ``entity-5`` …, attributes declared as keys."""
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element("graphml", {"xmlns": GRAPHML_NS})
    for name in _NODE_KEYS:
        _key(root, "node", name)
    for name in _LINK_KEYS:
        _key(root, "edge", name, "double" if name == "confidence" else "string")
    graph = ET.SubElement(root, "graph", {"id": "geomon", "edgedefault": "directed"})
    for n in net.nodes:
        el = ET.SubElement(graph, "node", {"id": identity_of(n["key"])})
        for name in _NODE_KEYS:
            _data(el, "node", name, n.get(name))
    for link in net.links:
        el = ET.SubElement(
            graph,
            "edge",
            {
                "id": f"link-{link['id']}",
                "source": f"entity-{link['entity_id']}",
                "target": f"{link['to_kind']}-{link['to_id']}",
            },
        )
        for name in _LINK_KEYS:
            _data(el, "edge", name, link.get(name))
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def cytoscape(net: Network) -> dict[str, Any]:
    """Cytoscape.js elements (``{"nodes": [{"data": …}], "edges": […]}``), times UTC text."""
    nodes = [
        {
            "data": {
                "id": identity_of(n["key"]),
                "type": n["type"],
                "label": n.get("label") or "",
                "identity": n.get("identity"),
                "at": _utc(n.get("at")) or None,
                "seed": bool(n.get("seed")),
            }
        }
        for n in net.nodes
    ]
    edges = [
        {
            "data": {
                "id": f"link-{link['id']}",
                "source": f"entity-{link['entity_id']}",
                "target": f"{link['to_kind']}-{link['to_id']}",
                "kind": link["kind"],
                "confidence": link.get("confidence"),
                "valid_from": _utc(link.get("valid_from")) or None,
                "valid_until": _utc(link.get("valid_until")) or None,
                "source_system": link.get("source") or "",
            }
        }
        for link in net.links
    ]
    return {"nodes": nodes, "edges": edges}
