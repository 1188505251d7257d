"""Bulk import of entities and links from CSV: every row checked first, refused whole.

A file with any bad row writes nothing; each bad row is reported by its line number (the
header is line 1) and the reason. Entities whose (kind, identity) already exists live in the
agency are counted as ``existing`` and left alone, so a file imported twice changes nothing.
Links name their ends as ``<kind>:<identity>`` (``vehicle:01KG123ABC``, ``person:DMP-P-77``)
or ``#<id>`` for entities, and by id for cases, incidents, observations and events.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from geomon.entities import EntityError, normalise_entity, normalise_link
from geomon.errors import InvalidRequest, NotFound
from geomon.store import entities as entity_store
from geomon.store import links as link_store

ENTITY_COLUMNS = (
    "kind",
    "identity",
    "label",
    "name",
    "born_on",
    "plate",
    "plate_country",
    "vin",
    "imei",
    "msisdn",
    "note",
    "source",
)
LINK_COLUMNS = (
    "entity",
    "kind",
    "to_kind",
    "to",
    "source",
    "confidence",
    "valid_from",
    "valid_until",
    "note",
)
REQUIRED = {"entities": ("kind",), "links": ("entity", "kind", "to_kind", "to")}


@dataclass
class ImportResult:
    created: int = 0
    existing: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def read_rows(path: Path, allowed: tuple[str, ...], what: str) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` of a UTF-8 CSV (a BOM is fine); InvalidRequest for a bad header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{path.name} is not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in allowed]
    missing = [c for c in REQUIRED[what] if c not in header]
    if unknown or missing:
        raise InvalidRequest(
            f"{path.name}:1: unknown columns {unknown}, missing {missing}; "
            f"the columns are {', '.join(allowed)}"
        )
    rows = []
    for row in reader:
        if None in row:
            rows.append((reader.line_num, {"\x00": "more fields than the header has"}))
        else:
            rows.append((reader.line_num, {k: v for k, v in row.items() if v is not None}))
    return rows


def check_entities(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    """Normalised ``(line, entity)`` and ``(line, reason)``; a repeated identity is bad too."""
    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in rows:
        try:
            if "\x00" in raw:
                raise EntityError(raw["\x00"])
            entity = normalise_entity(raw)
            if entity["identity"] is not None:
                first = seen.setdefault((entity["kind"], entity["identity"]), line)
                if first != line:
                    raise EntityError(
                        f"{entity['kind']} {entity['identity']!r} repeats line {first}"
                    )
            good.append((line, entity))
        except EntityError as exc:
            bad.append((line, str(exc)))
    return good, bad


async def import_entities(
    conn: psycopg.AsyncConnection, path: Path, *, agency_id: int, by: str
) -> ImportResult:
    """Check every row, then (only when all are good) insert in one transaction."""
    good, bad = check_entities(read_rows(path, ENTITY_COLUMNS, "entities"))
    result = ImportResult(bad=bad)
    if bad:
        return result
    async with conn.transaction():
        for _, entity in good:
            if await entity_store.find_same(conn, agency_id, entity["kind"], entity["identity"]):
                result.existing += 1
                continue
            entity.setdefault("source", "")
            entity["source"] = entity["source"] or path.name
            await entity_store.create_entity(conn, entity, agency_id=agency_id, by=by)
            result.created += 1
    return result


async def _entity_ref(conn: psycopg.AsyncConnection, text: str, agency_id: int) -> int:
    text = text.strip()
    if text.startswith("#") and text[1:].isdigit():
        return int(text[1:])
    kind, sep, identity = text.partition(":")
    if not sep or not identity:
        raise EntityError(f"entity {text!r} is neither <kind>:<identity> nor #<id>")
    found = await entity_store.find_same(conn, agency_id, kind, identity)
    if found is None:
        raise EntityError(f"no live {kind} with identity {identity!r} in the agency")
    return found


async def _resolve_link(
    conn: psycopg.AsyncConnection, raw: dict[str, str], agency_id: int
) -> tuple[dict[str, Any], int, int]:
    link = normalise_link(raw)
    entity_id = await _entity_ref(conn, raw["entity"], agency_id)
    to = raw.get("to", "").strip()
    if link["to_kind"] == "entity":
        to_id = await _entity_ref(conn, to, agency_id)
    elif to.isdigit() and 1 <= int(to) < 2**63:
        to_id = int(to)
    else:
        raise EntityError(f"to {to!r} is not the id of a {link['to_kind']}")
    for kind, i in (("entity", entity_id), (link["to_kind"], to_id)):
        await link_store.require_visible(conn, kind, i)
    return link, entity_id, to_id


async def import_links(
    conn: psycopg.AsyncConnection, path: Path, *, agency_id: int, by: str
) -> ImportResult:
    """Resolve and check every row, then (only when all are good) insert them."""
    result = ImportResult()
    resolved = []
    for line, raw in read_rows(path, LINK_COLUMNS, "links"):
        try:
            if "\x00" in raw:
                raise EntityError(raw["\x00"])
            resolved.append(await _resolve_link(conn, raw, agency_id))
        except (InvalidRequest, NotFound) as exc:
            result.bad.append((line, str(exc)))
    if result.bad:
        return result
    async with conn.transaction():
        for link, entity_id, to_id in resolved:
            link["source"] = link["source"] or path.name
            await link_store.create_link(
                conn, link, entity_id=entity_id, to_id=to_id, agency_id=agency_id, by=by
            )
            result.created += 1
    return result
