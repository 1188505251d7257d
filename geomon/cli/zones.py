"""``geomon zones …`` (import, border strips, crossing points, list) and ``geomon events …``
(list, ack, resolve, rules, notification targets)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from geomon.alerts.rules import load_rules_file
from geomon.cli.common import db_url, reported_errors
from geomon.store import events as event_store
from geomon.store import zones as zone_store
from geomon.store.db import async_connect, connect
from geomon.store.event_inputs import set_rules

zones_app = typer.Typer(help="Geofences: import, generate and list zones.", no_args_is_help=True)
events_app = typer.Typer(
    help="Events: list, acknowledge, resolve; rules and notifications.", no_args_is_help=True
)


@zones_app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON or GeoPackage.")
    ],
    agency: str = typer.Option("DEFAULT", "--agency", help="Owning agency code."),
    kind: str = typer.Option(
        None,
        "--kind",
        help=f"Zone kind ({', '.join(zone_store.ZONE_KINDS)})"
        "; default: each feature's 'kind' property.",
    ),
    name_field: str = typer.Option("name", "--name-field", help="Property holding the name."),
) -> None:
    """Import polygon features as zones (upsert by agency + name)."""
    with reported_errors(), connect(db_url()) as conn:
        ids = zone_store.import_zones(conn, file, agency=agency, kind=kind, name_field=name_field)
    typer.echo(f"imported {len(ids)} zones from {file.name} for {agency}")


@zones_app.command("border-strip")
def border_strip_cmd(
    border: str = typer.Option(..., "--border", help="Border code, e.g. KGZ-TJK."),
    width_km: float = typer.Option(5.0, "--width-km", min=0.1, max=200, help="Strip half-width."),
    agency: str = typer.Option("DEFAULT", "--agency", help="Owning agency code."),
    name: str = typer.Option(None, "--name", help="Zone name (default from border and width)."),
) -> None:
    """A strip ``width_km`` either side of a border line (buffer on the spheroid)."""
    with reported_errors(), connect(db_url()) as conn:
        zid = zone_store.border_strip(conn, border, width_km, agency=agency, name=name)
    typer.echo(f"border strip {border} ±{width_km:g} km: zone {zid}")


@zones_app.command("crossing-points")
def crossing_points_cmd(
    radius_m: float = typer.Option(2000, "--radius-m", min=10, max=100_000, help="Zone radius."),
    agency: str = typer.Option("DEFAULT", "--agency", help="Owning agency code."),
    use_accuracy: bool = typer.Option(
        False, "--use-accuracy", help="Grow each zone to the place's stated accuracy."
    ),
    private: bool = typer.Option(False, "--private", help="Only for this agency's devices."),
) -> None:
    """One crossing_point zone per road/rail BCP in the reference places."""
    with reported_errors(), connect(db_url()) as conn:
        n = zone_store.crossing_point_zones(
            conn, radius_m, agency=agency, use_accuracy=use_accuracy, shared=not private
        )
    typer.echo(f"{n} crossing-point zones (radius {radius_m:g} m) for {agency}")


@zones_app.command("list")
def list_cmd(agency: str = typer.Option(None, "--agency", help="Only this agency.")) -> None:
    """Zones with their kind and area."""
    with reported_errors(), connect(db_url()) as conn:
        rows = zone_store.list_zones(conn, agency)
    for zid, code, name, kind, km2, active in rows:
        typer.echo(
            f"{zid:>6}  {code:<10} {kind:<15} {km2:>10} km²  {'' if active else '(off) '}{name}"
        )


@zones_app.command("assign")
def assign_cmd(zone_id: int, devices: Annotated[list[str], typer.Argument()]) -> None:
    """Assign a patrol area to teams (device uids)."""
    with reported_errors(), connect(db_url()) as conn:
        n = zone_store.assign_zone(conn, zone_id, devices)
    typer.echo(f"assigned zone {zone_id} to {n} devices")


def _run(coro_fn):
    async def main():
        async with async_connect(db_url()) as conn:
            out = await coro_fn(conn)
            await conn.commit()
            return out

    with reported_errors():
        return asyncio.run(main())


@events_app.command("list")
def events_list(
    state: Annotated[
        list[str] | None, typer.Option("--state", help="new/acknowledged/resolved")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="zone_enter, silent…")] = None,
    severity: str = typer.Option(None, "--min-severity", help="info / warning / critical"),
    since: Annotated[datetime | None, typer.Option("--since", help="ISO time.")] = None,
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Events, newest first."""
    rows = _run(
        lambda c: event_store.list_events(
            c, states=state or [], kinds=kind or [], min_severity=severity, since=since, limit=limit
        )
    )
    for r in rows:
        if as_json:
            typer.echo(json.dumps(r, default=str))
        else:
            typer.echo(
                f"{r['id']:>7} {r['occurred_at']:%Y-%m-%d %H:%M:%S} {r['severity']:<8} "
                f"{r['state']:<12} {r['kind']:<14} {r['device_uid'] or '-':<16} "
                f"{r['zone_name'] or r['attrs'].get('border', '')}"
            )


@events_app.command("ack")
def events_ack(
    event_id: int, user: str = typer.Option(..., "--user"), note: str = typer.Option(None, "--note")
) -> None:
    """Acknowledge an event."""
    r = _run(lambda c: event_store.acknowledge(c, event_id, user=user, note=note))
    typer.echo(f"event {r['id']}: {r['state']} by {r['acknowledged_by']}")


@events_app.command("resolve")
def events_resolve(
    event_id: int, user: str = typer.Option(..., "--user"), note: str = typer.Option(None, "--note")
) -> None:
    """Resolve an event, with a note."""
    r = _run(lambda c: event_store.resolve(c, event_id, user=user, note=note))
    typer.echo(f"event {r['id']}: {r['state']} by {r['resolved_by']}")


@events_app.command("rules")
def events_rules(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="TOML or JSON rules (docs/events.md)."),
    ],
) -> None:
    """Load alert rules (default and per agency) into the database."""
    data = load_rules_file(file)

    async def store(conn):
        if "default" in data:
            await set_rules(conn, "default", data["default"])
        for code, rules in data.get("agency", {}).items():
            await set_rules(conn, code, rules)

    _run(store)
    scopes = (["default"] if "default" in data else []) + list(data.get("agency", {}))
    typer.echo(f"rules loaded: {', '.join(scopes)}")


@events_app.command("notify-add")
def events_notify_add(
    channel: str = typer.Option(..., "--channel", help="webhook or mqtt"),
    url: str = typer.Option(..., "--url", help="https://… or mqtt://host:port/topic"),
    secret: str = typer.Option(
        "", "--secret", envvar="GEOMON_WEBHOOK_SECRET", help="HMAC-SHA256 key for webhooks."
    ),
    agency: str = typer.Option(None, "--agency", help="Only this agency's events."),
    min_severity: str = typer.Option("warning", "--min-severity"),
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these kinds.")] = None,
) -> None:
    """Add a notification target (webhook or MQTT)."""
    from geomon.store.notifications import add_target

    with reported_errors(), connect(db_url()) as conn:
        tid = add_target(
            conn,
            channel=channel,
            url=url,
            secret=secret,
            agency=agency,
            min_severity=min_severity,
            kinds=kind or [],
        )
    typer.echo(f"notification target {tid}: {channel} {url}")
