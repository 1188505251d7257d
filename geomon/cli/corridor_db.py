"""Database forms of ``geomon surfaces | corridor | route``: stored surfaces and corridors.

Runs as the database owner (no row-level-security context), like ``geomon hotspots``:
``--owner CODE`` makes the stored rows belong to that agency (so its users see them through
the API); ``created_by`` is the OS user or ``--as``.
"""

from __future__ import annotations

import getpass
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from geomon.analysis import corridors as service
from geomon.analysis.region_surface import (
    RegionSurfaceSpec,
    build_region_surface,
    store_file_surface,
)
from geomon.cli.common import db_url, parse_utc, reported_errors, settings
from geomon.errors import ConfigError, InvalidRequest
from geomon.spatial.raster_io import Grid
from geomon.store import surfaces as store
from geomon.store.db import connect
from geomon.store.hotspot_inputs import agency_id

Opt = typer.Option
Owner = Annotated[str | None, Opt("--owner", help="Agency code that owns the stored rows.")]
AsUser = Annotated[str | None, Opt("--as", help="created_by (default: the OS user).")]
Since = Annotated[str | None, Opt(help="Window start (ISO 8601; UTC if no offset).")]
Until = Annotated[str | None, Opt(help="Window end, exclusive (default now).")]


def _emit(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter("--bbox must be W,S,E,N in degrees") from None
    return w, s, e, n


def _owner_id(conn: Any, owner: str | None) -> int | None:
    return agency_id(conn, owner) if owner else None


NO_OWNER = "--owner CODE is required: a stored surface with no agency is visible to nobody"


def _required_owner(conn: Any, owner: str | None) -> int:
    if not owner:
        raise InvalidRequest(NO_OWNER)
    return agency_id(conn, owner)


def _toml_spec(path: Path | None) -> dict[str, Any]:
    """``[weights]``, ``[dem]`` (path or synthetic_seed, relief_m) and ``[region]`` of a TOML."""
    if path is None:
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    out: dict[str, Any] = {"weights": dict(raw.get("weights", {}))}
    dem = raw.get("dem", {})
    if "path" in dem:
        p = Path(dem["path"])
        out["dem_path"] = str(p if p.is_absolute() else path.resolve().parent / p)
    if "synthetic_seed" in dem:
        out["dem_seed"] = int(dem["synthetic_seed"])
    if "relief_m" in dem:
        out["relief_m"] = float(dem["relief_m"])
    for key in ("hotspot_sigma_m", "incident_category", "hotspot_surface_id"):
        if key in raw.get("region", {}):
            out[key] = raw["region"][key]
    return out


def build_region(
    bbox: Annotated[str | None, Opt(help="Region W,S,E,N (degrees).")] = None,
    country: Annotated[str | None, Opt(help="Region = a country (ISO3).")] = None,
    border: Annotated[str | None, Opt(help="Region = a buffer around a border (AFG-TJK).")] = None,
    buffer_km: Annotated[float | None, Opt(help="Border buffer, km.")] = None,
    cell_size: Annotated[float, Opt("--cell-size", help="Cell size, m.")] = 1000.0,
    config: Annotated[Path | None, Opt("--config", help="TOML: [weights], [dem].")] = None,
    since: Since = None,
    until: Until = None,
    category: Annotated[str | None, Opt(help="Only incidents of this category.")] = None,
    name: Annotated[str, Opt(help="Surface name.")] = "",
    owner: Owner = None,
    as_user: AsUser = None,
) -> None:
    """Build a risk/cost surface of a region from the database and store it; prints its id."""
    with reported_errors():
        extra = _toml_spec(config)
        if category:
            extra["incident_category"] = category
        spec = RegionSurfaceSpec(
            bbox=_bbox(bbox) if bbox else None,
            country=country,
            border=border,
            buffer_km=buffer_km,
            cell_size_m=cell_size,
            patrol_since=parse_utc(since),
            patrol_until=parse_utc(until),
            name=name,
            **extra,
        )
        with connect(db_url()) as conn:
            owner_id = _required_owner(conn, owner)  # before the build, not after it
            out = build_region_surface(
                conn,
                spec,
                data_dir=settings().data_dir,
                agency_id=owner_id,
                created_by=as_user or getpass.getuser(),
            )
            conn.commit()
        p = out.params
        _emit(
            {
                "surface_id": out.surface_id,
                "path": out.path,
                "crs": out.crs,
                "shape": list(out.shape),
                "seconds": round(out.seconds, 2),
                "dem": p["dem"],
                "min": p["vmin"],
                "max": p["vmax"],
                "layers": json.loads(p["layers_used"]),
                "inputs": {
                    k: {kk: vv for kk, vv in v.items() if kk != "places"}
                    for k, v in p["inputs"].items()
                },
            }
        )


def store_built(grid: Grid, out: Path, config: Path, owner: str | None, as_user: str | None) -> int:
    """``surfaces build --store``: record a file-built surface."""
    with connect(db_url()) as conn:
        sid = store_file_surface(
            conn,
            grid,
            out,
            name=f"surface from {config.name}",
            agency_id=_required_owner(conn, owner),
            created_by=as_user or getpass.getuser(),
            extra={
                "config": str(config.resolve()),
                "config_text": config.read_text(encoding="utf-8"),
            },
        )
        conn.commit()
    return sid


def list_cmd(limit: Annotated[int, Opt(min=1, max=10000)] = 50) -> None:
    """Stored surfaces, newest first."""
    with reported_errors(), connect(db_url()) as conn:
        rows = store.list_surfaces(conn, limit=limit)
    typer.echo(f"{'id':>5} {'kind':<6} {'crs':<11} {'by':<10} {'created':<16} name")
    for r in rows:
        typer.echo(
            f"{r['id']:>5} {r['kind']:<6} {r['crs'][:11]:<11} {r['created_by'][:10]:<10} "
            f"{r['created_at']:%Y-%m-%d %H:%M} {r['name']}"
        )


def show_cmd(surface_id: int) -> None:
    """One surface: path, CRS, units, every input and weight, and its corridors."""
    with reported_errors(), connect(db_url()) as conn:
        row = store.get_surface(conn, surface_id)
        row["corridors"] = [
            {k: c[k] for k in ("id", "rank", "n_cells", "total_cost")}
            for c in store.corridors_of(conn, surface_id=surface_id)
        ]
    _emit(row)


def delete_cmd(surface_id: int) -> None:
    """Delete a surface, the corridors computed on it, and its GeoTIFF."""
    with reported_errors(), connect(db_url()) as conn:
        path, n = store.delete_surface(conn, surface_id)
        conn.commit()
    if path and Path(path).is_file():
        Path(path).unlink()
    typer.echo(f"deleted surface {surface_id}, {n} corridors and {path or 'no file'}")


def between(
    surface_id: Annotated[int, Opt("--surface-id", help="Stored surface to route over.")],
    from_border: Annotated[str | None, Opt(help="Sources: a border (e.g. AFG-TJK).")] = None,
    from_place: Annotated[list[str], Opt(help="Sources: place names (repeatable).")] = [],  # noqa: B006
    from_crossings: Annotated[str | None, Opt(help="Sources: a border's BCPs.")] = None,
    to_place: Annotated[list[str], Opt(help="Targets: place names (repeatable).")] = [],  # noqa: B006
    to_border: Annotated[str | None, Opt(help="Targets: a border.")] = None,
    alternatives: Annotated[int, Opt(min=1, max=10, help="Corridors to find.")] = 3,
    margin: Annotated[float | None, Opt(help="Margin between alternatives, m.")] = None,
    percentile: Annotated[float | None, Opt(help="Cut at this percentile.")] = None,
    within_pct: Annotated[float | None, Opt(help="Cut within X % of the min (default 3).")] = None,
    pairs: Annotated[bool, Opt(help="Every source place × --to-place pair.")] = False,
    owner: Owner = None,
    as_user: AsUser = None,
) -> None:
    """Corridors between a border / places and places on a stored surface; stores them."""
    with reported_errors():
        if percentile is None and within_pct is None:
            within_pct = 3.0
        req = service.CorridorRequest(
            surface_id,
            service.Endpoint(
                border=from_border, places=list(from_place), crossings_of=from_crossings
            ),
            service.Endpoint(border=to_border, places=list(to_place)),
            alternatives=alternatives,
            margin_m=margin,
            percentile=percentile,
            within_pct=within_pct,
            pairs=pairs,
        )
        with connect(db_url()) as conn:
            owner_id = _owner_id(conn, owner)
            if owner_id is None:
                owner_id = store.get_surface(conn, surface_id)["agency_id"]
            rows = service.build_corridors(
                conn,
                req,
                data_dir=settings().data_dir,
                agency_id=owner_id,
                created_by=as_user or getpass.getuser(),
            )
            conn.commit()
        _emit({"surface_id": surface_id, "corridors": rows})


def store_file_corridors(
    surface_id: int,
    grid: Grid,
    named: list[tuple[dict[str, Any], Any]],
    request: dict[str, Any],
    as_user: str | None,
) -> list[int]:
    """``corridor build --store``: save file-mode corridors against stored surface N."""
    from geomon.analysis.corridors import _save

    ids = []
    with connect(db_url()) as conn:
        owner_id = store.get_surface(conn, surface_id)["agency_id"]
        for i, (label, c) in enumerate(named, start=1):
            params = {"request": request, **label, "analysis_crs": grid.crs}
            ids.append(
                _save(
                    conn,
                    c,
                    grid,
                    surface_id=surface_id,
                    rank=label.get("rank", i),
                    params=params,
                    agency_id=owner_id,
                    created_by=as_user or getpass.getuser(),
                )["id"]
            )
        conn.commit()
    return ids


def route_risk_db(
    surface: Path | None,
    surface_id: int | None,
    line_lonlat: Any,
    device: str | None,
    since: str | None,
    until: str | None,
    threshold: float | None,
) -> dict[str, Any]:
    """``route risk`` with --surface-id and/or --device (the track from ``positions``)."""
    from geomon.cli.corridor import _read_raster

    if device is not None and (since is None or until is None):
        raise InvalidRequest("--device needs --since and --until")
    with connect(db_url()) as conn:
        if surface_id is not None:
            _, grid = service.load_surface(conn, surface_id, settings().data_dir)
        else:
            assert surface is not None
            grid = _read_raster(surface)
        if device is not None:
            t0, t1 = parse_utc(since), parse_utc(until)
            assert t0 is not None and t1 is not None
            out = service.device_route_risk(conn, grid, device, t0, t1, threshold)
        else:
            out = service.score_line(grid, line_lonlat, threshold)
    return {"surface_id": surface_id, **out} if surface_id is not None else out


def devices_cmd(
    bbox: Annotated[str, Opt(help="Region W,S,E,N (degrees).")],
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Opt(min=1, max=1000)] = 20,
) -> None:
    """Devices with fixes in a region and window (default: the last 24 h), most fixes first."""
    from datetime import timedelta

    import shapely

    with reported_errors(), connect(db_url()) as conn:
        t1 = parse_utc(until) or datetime.now(UTC)
        t0 = parse_utc(since) or t1 - timedelta(hours=24)
        rows = store.devices_in_region(conn, shapely.box(*_bbox(bbox)), t0, t1, limit=limit)
    _emit({"since": t0, "until": t1, "devices": rows})


def register(
    surfaces_app: typer.Typer, corridor_app: typer.Typer, route_app: typer.Typer | None = None
) -> None:
    if route_app is not None:
        route_app.command("devices")(devices_cmd)
    surfaces_app.command("build-region")(build_region)
    surfaces_app.command("list")(list_cmd)
    surfaces_app.command("show")(show_cmd)
    surfaces_app.command("delete")(delete_cmd)
    corridor_app.command("between")(between)
