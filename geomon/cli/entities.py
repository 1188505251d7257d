"""``geomon entities …``: add, search, show, link, import CSV files, export a network.

The CLI works as the database owner (like every geomon command): it sees every agency's
rows; writes name the owning agency with ``--agency``. Imports are all or nothing: each bad
row is printed as ``file:line: reason`` and nothing is written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import psycopg
import typer

from geomon import entities as domain
from geomon import entity_import
from geomon.cli.common import db_url, fail, reported_errors
from geomon.exchange import network as export
from geomon.store import entities as store
from geomon.store import links as link_store
from geomon.store import network as network_store
from geomon.store.db import async_connect

app = typer.Typer(help="Persons, vehicles, phones, organisations and their links.")
T = TypeVar("T")
FORMATS = ("graphml", "i2", "cytoscape", "json")


@app.callback()
def _group() -> None:
    """Entities and links."""


def _run(work: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
    async def main() -> T:
        async with async_connect(db_url()) as conn:
            out = await work(conn)
            await conn.commit()
            return out

    with reported_errors():
        return asyncio.run(main())
    raise AssertionError("unreachable")  # reported_errors exits on errors


async def _agency_id(conn: psycopg.AsyncConnection, code: str) -> int:
    return await store.agency_id(conn, code)


def _line(e: dict[str, Any]) -> str:
    gone = " (deleted)" if e.get("deleted_at") else ""
    key = e["identity"] or "-"
    return f"{e['id']:>7}  {e['agency']:<10} {e['kind']:<12} {key:<20} {e['label']}{gone}"


@app.command("add")
def add_cmd(
    kind: Annotated[str, typer.Argument(help="person, vehicle, phone or organisation.")],
    agency: str = typer.Option(..., "--agency", help="Owning agency code."),
    name: str = typer.Option(None, "--name"),
    identity: str = typer.Option(None, "--identity", help="Id in the source (persons…)."),
    plate: str = typer.Option(None, "--plate"),
    vin: str = typer.Option(None, "--vin"),
    imei: str = typer.Option(None, "--imei"),
    msisdn: str = typer.Option(None, "--msisdn"),
    label: str = typer.Option(None, "--label"),
) -> None:
    """Add one entity; prints its id."""
    raw = dict(kind=kind, name=name, identity=identity, plate=plate, vin=vin, imei=imei)
    raw.update(msisdn=msisdn, label=label, source="cli")

    async def work(conn: psycopg.AsyncConnection) -> int:
        entity = domain.normalise_entity(raw)
        owner = await _agency_id(conn, agency)
        return await store.create_entity(conn, entity, agency_id=owner, by="cli")

    typer.echo(_run(work))


@app.command("search")
def search_cmd(
    q: str = typer.Option(None, "--q", help="Text in label, name or identity."),
    plate: str = typer.Option(None, "--plate"),
    phone: str = typer.Option(None, "--phone"),
    kind: str = typer.Option(None, "--kind"),
    limit: int = typer.Option(100, "--limit", min=1, max=10000),
) -> None:
    """List entities (every agency's: the CLI is the owner)."""
    from geomon.plates import normalise_plate

    norm = normalise_plate(plate) if plate else None
    if plate and norm is None:
        fail(f"plate {plate!r} is empty, over 20 characters or not text")

    async def work(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
        return await store.search_entities(
            conn, q=q, kind=kind, plate=norm and norm.plate, phone=phone, limit=limit
        )

    for e in _run(work):
        typer.echo(_line(e))


@app.command("link")
def link_cmd(
    entity_id: int,
    kind: str,
    to_kind: str,
    to_id: int,
    agency: str = typer.Option(..., "--agency", help="Owning agency code."),
    confidence: float = typer.Option(None, "--confidence", min=0, max=1),
    source: str = typer.Option("cli", "--source"),
) -> None:
    """Link entity ENTITY_ID (KIND, e.g. owns) to TO_KIND (entity/case/…) TO_ID."""
    raw = dict(kind=kind, to_kind=to_kind, confidence=confidence, source=source)

    async def work(conn: psycopg.AsyncConnection) -> int:
        link = domain.normalise_link(raw)
        owner = await _agency_id(conn, agency)
        return await link_store.create_link(
            conn, link, entity_id=entity_id, to_id=to_id, agency_id=owner, by="cli"
        )

    typer.echo(_run(work))


def _report(path: Path, result: entity_import.ImportResult, what: str) -> None:
    if result.bad:
        for line, reason in result.bad[:50]:
            typer.echo(f"{path.name}:{line}: {reason}", err=True)
        if len(result.bad) > 50:
            typer.echo(f"… and {len(result.bad) - 50} more", err=True)
        fail(f"{len(result.bad)} bad rows; nothing imported")
    typer.echo(f"{path.name}: {result.created} {what} created, {result.existing} existing")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UTF-8 CSV.")],
    agency: str = typer.Option(..., "--agency", help="Owning agency code."),
) -> None:
    """Import entities (columns: kind, identity, label, name, born_on, plate, plate_country,
    vin, imei, msisdn, note, source); refused whole when any row is bad."""

    async def work(conn: psycopg.AsyncConnection) -> entity_import.ImportResult:
        owner = await _agency_id(conn, agency)
        return await entity_import.import_entities(conn, file, agency_id=owner, by="cli")

    _report(file, _run(work), "entities")


@app.command("import-links")
def import_links_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UTF-8 CSV.")],
    agency: str = typer.Option(..., "--agency", help="Owning agency code."),
) -> None:
    """Import links (columns: entity, kind, to_kind, to, source, confidence, valid_from,
    valid_until, note; entities as kind:identity or #id); refused whole when any is bad."""

    async def work(conn: psycopg.AsyncConnection) -> entity_import.ImportResult:
        owner = await _agency_id(conn, agency)
        return await entity_import.import_links(conn, file, agency_id=owner, by="cli")

    _report(file, _run(work), "links")


@app.command("network")
def network_cmd(
    entity_id: int,
    depth: int = typer.Option(2, "--depth", min=1, max=4),
    max_nodes: int = typer.Option(300, "--max-nodes", min=2, max=2000),
    fmt: str = typer.Option("graphml", "--format", help="graphml, i2, cytoscape or json."),
    out: Path = typer.Option(None, "--out", help="File to write; default standard output."),
) -> None:
    """Export the network around an entity for i2 (CSV), Gephi/yEd (GraphML) or JSON."""
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; accepted: {', '.join(FORMATS)}")

    async def work(conn: psycopg.AsyncConnection) -> network_store.Network:
        seeds = [("entity", entity_id)]
        return await network_store.network(conn, seeds, depth=depth, max_nodes=max_nodes)

    net = _run(work)
    if fmt == "graphml":
        text = export.graphml(net)
    elif fmt == "i2":
        text = export.i2_csv(net)
    else:
        doc = (
            export.cytoscape(net)
            if fmt == "cytoscape"
            else {"nodes": net.nodes, "links": net.links}
        )
        text = json.dumps(doc, default=str, ensure_ascii=False, indent=1) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8", newline="")
        typer.echo(f"wrote {len(net.nodes)} nodes, {len(net.links)} links to {out}", err=True)
