"""``geomon watchlist add|remove|list|import``: plate watch-lists on the live database.

Runs as the database owner (no row-level-security context): ``--agency`` names the agency
whose list is read or changed. Each command writes an audit-log row (method ``CLI``, the
command as route, the entry ids in params), like the API's reads and changes.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import psycopg
import typer

from geomon import watchlists as domain
from geomon.cli.common import db_url, fail, reported_errors
from geomon.plates import normalise_plate
from geomon.store import watchlists as store
from geomon.store.audit import AuditEntry, write_audit_batch
from geomon.store.db import async_connect
from geomon.store.devices import agency_id_for

app = typer.Typer(help="Plate watch-lists: add, remove, list, import.", no_args_is_help=True)
Opt = typer.Option
T = TypeVar("T")
AgencyOpt = Annotated[str, Opt("--agency", help="Agency code owning the list.")]
AsOpt = Annotated[str | None, Opt("--as", help="Recorded as the user (default: login name).")]


async def _agency_id(conn: psycopg.AsyncConnection, code: str) -> int:
    found = await agency_id_for(conn, code)
    if found is None:
        fail(f"no agency {code!r}")
    return int(found)  # type: ignore[arg-type]


def _audited(
    command: str,
    agency: str,
    user: str | None,
    body: Callable[[psycopg.AsyncConnection, int, str], Awaitable[tuple[T, dict[str, Any]]]],
) -> T:
    """Run ``body(conn, agency_id, user)`` and its audit row in one transaction."""

    async def go() -> T:
        started = time.monotonic()
        who = user or getpass.getuser()
        async with async_connect(db_url()) as conn, conn.transaction():
            agency_id = await _agency_id(conn, agency)
            out, params = await body(conn, agency_id, who)
            route = f"geomon watchlist {command}"
            entry = AuditEntry(
                method="CLI", route=route, path=route, status=200, username=who,
                agency_id=agency_id, params=params, duration_ms=(time.monotonic() - started) * 1000,
            )  # fmt: skip
            await write_audit_batch(conn, [entry])
        return out

    with reported_errors():
        return asyncio.run(go())
    raise AssertionError("unreachable")  # reported_errors exits on error


@app.command("add")
def add(
    plate: Annotated[str, typer.Argument(help="Plate, or a pattern with * and ?.")],
    agency: AgencyOpt,
    reason: Annotated[str, Opt(help="Why it is watched.")] = "",
    priority: Annotated[str, Opt(help="high (critical alarm), medium or low.")] = "high",
    country: Annotated[str | None, Opt(help="Country code of the plate.")] = None,
    list_name: Annotated[str, Opt("--list", help="List name in the agency.")] = "default",
    valid_from: Annotated[str | None, Opt(help="RFC 3339 (default now).")] = None,
    valid_until: Annotated[str | None, Opt(help="RFC 3339 (default open-ended).")] = None,
    as_user: AsOpt = None,
) -> None:
    """Add one entry; prints its id."""
    with reported_errors():
        entry = domain.make_entry(
            {"plate": plate, "reason": reason, "priority": priority, "country": country,
             "list": list_name, "valid_from": valid_from, "valid_until": valid_until}
        )  # fmt: skip

    async def body(
        conn: psycopg.AsyncConnection, agency_id: int, who: str
    ) -> tuple[int, dict[str, Any]]:
        ids = await store.add_entries(conn, [entry], agency_id=agency_id, added_by=who)
        return ids[0], {"entry_ids": ids, "plate": entry.plate}

    entry_id = _audited("add", agency, as_user, body)
    kind = "pattern" if entry.is_pattern else "plate"
    typer.echo(f"watch-list entry {entry_id}: {kind} {entry.plate} ({entry.priority})")


@app.command("remove")
def remove(
    entry_id: Annotated[int, typer.Argument(help="Entry id.", min=1)],
    agency: AgencyOpt,
    why: Annotated[str, Opt(help="Why it is removed (kept in history).")] = "",
    as_user: AsOpt = None,
) -> None:
    """Remove an entry of the agency (it stays in history, no longer matched)."""

    async def body(
        conn: psycopg.AsyncConnection, agency_id: int, who: str
    ) -> tuple[None, dict[str, Any]]:
        await store.remove_entry(conn, entry_id, removed_by=who, why=why, agency_id=agency_id)
        return None, {"entry_ids": [entry_id], "why": why}

    _audited("remove", agency, as_user, body)
    typer.echo(f"watch-list entry {entry_id} removed")


@app.command("list")
def list_(
    agency: AgencyOpt,
    plate: Annotated[str | None, Opt(help="Only this plate (normalised).")] = None,
    list_name: Annotated[str | None, Opt("--list", help="Only this list.")] = None,
    removed: Annotated[bool, Opt("--removed", help="Removed entries too.")] = False,
    limit: Annotated[int, Opt(min=1, max=100_000)] = 100,
    as_json: Annotated[bool, Opt("--json", help="JSON lines instead of a table.")] = False,
    as_user: AsOpt = None,
) -> None:
    """The agency's entries, newest first."""
    norm = normalise_plate(plate) if plate is not None else None
    if plate is not None and norm is None:
        fail(f"{plate!r} is not a plate")

    async def body(
        conn: psycopg.AsyncConnection, agency_id: int, who: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        rows = await store.list_entries(
            conn, limit=limit, list_name=list_name, plate=norm.plate if norm else None,
            agency_id=agency_id, include_removed=removed,
        )  # fmt: skip
        return rows, {"entry_ids": [r["id"] for r in rows]}

    for r in _audited("list", agency, as_user, body):
        if as_json:
            typer.echo(json.dumps(r, default=str, ensure_ascii=False))
        else:
            state = "active" if r["active"] else ("removed" if r["removed_at"] else "inactive")
            typer.echo(
                f"{r['id']:>8}  {r['plate']:<20} {r['priority']:<6} {state:<8} "
                f"{r['list']:<12} {r['reason']}"
            )


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
    agency: AgencyOpt,
    as_user: AsOpt = None,
) -> None:
    """Import a CSV file (header plate[,reason,priority,valid_from,valid_until,country,list]);
    a file with any bad row is refused whole, naming the rows."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 (byte {exc.start})")
        raise
    with reported_errors():
        entries = domain.parse_csv(text)

    async def body(
        conn: psycopg.AsyncConnection, agency_id: int, who: str
    ) -> tuple[list[int], dict[str, Any]]:
        ids = await store.add_entries(conn, entries, agency_id=agency_id, added_by=who)
        return ids, {"imported": len(ids), "first_id": ids[0], "last_id": ids[-1],
                     "file": path.name}  # fmt: skip

    ids = _audited("import", agency, as_user, body)
    typer.echo(f"imported {len(ids)} watch-list entries ({ids[0]}..{ids[-1]})")
