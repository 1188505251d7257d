"""``geomon hotspots run|list|show|delete|rerun``: hotspot runs on the live database.

Runs as the database owner (no row-level-security context: the system sees every agency), so
``--agency`` filters the input and also owns the run (``--owner CODE`` overrides), which makes
it visible to that agency's users through the API. ``created_by`` is the OS user or ``--as``.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from geomon.analysis import hotspots as service
from geomon.analysis.hotspot_params import HotspotParams, InputFilter
from geomon.cli.common import db_url, fail, parse_utc, reported_errors, settings
from geomon.store import hotspots as store
from geomon.store.db import connect
from geomon.store.hotspot_inputs import agency_id

run_app = typer.Typer(
    help="Compute a hotspot layer from the database and store it as a run.", no_args_is_help=True
)

Opt = typer.Option


def _bbox(value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise typer.BadParameter("--bbox must be W,S,E,N in degrees")
    return parts


def _aoi(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from None
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
        if len(feats) != 1:
            raise typer.BadParameter("--aoi FeatureCollection must hold exactly one feature")
        doc = feats[0]
    return doc.get("geometry") if doc.get("type") == "Feature" else doc


def _run(kind: str, ctx: dict[str, Any]) -> None:
    owner = ctx.pop("owner")
    who = ctx.pop("as_user") or getpass.getuser()
    filt = {
        k: ctx.pop(k)
        for k in (
            "layer",
            "category",
            "agency",
            "since",
            "until",
            "country",
            "border",
            "buffer_km",
            "sum_values",
        )
    }
    filt["bbox"] = _bbox(ctx.pop("bbox"))
    filt["aoi"] = _aoi(ctx.pop("aoi"))
    try:
        params = HotspotParams.model_validate(
            {
                "kind": kind,
                "filter": InputFilter(**filt),
                **{k: v for k, v in ctx.items() if v is not None},
            }
        )
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        raise
    data_dir = settings().data_dir
    with reported_errors(), connect(db_url()) as conn:
        owner_code = owner or params.filter.agency
        owner_id = agency_id(conn, owner_code) if owner_code else None
        out = service.run(conn, params, data_dir=data_dir, created_by=who, agency_id=owner_id)
        conn.commit()
    _print_outcome(out)


def _print_outcome(out: service.RunOutcome) -> None:
    t = out.timings
    phases = ", ".join(f"{k} {v:.2f}s" for k, v in t.items() if k != "total")
    typer.echo(
        f"run {out.run_id} ({out.kind}): {out.n_points} points, {out.n_cells} "
        f"{'raster cells' if out.kind == 'kde' else 'cells'}, CRS {out.crs}"
    )
    typer.echo(f"  {json.dumps(out.summary)}")
    if out.surface_path:
        typer.echo(f"  surface {out.surface_path}")
    typer.echo(f"  {t.get('total', 0):.2f} s ({phases})")


@run_app.callback()
def _run_root() -> None:
    """Filters: --layer --category --agency --since --until and one AOI (--bbox | --country |
    --border with --buffer-km | --aoi FILE)."""


Layer = Annotated[str, Opt(help="incidents, observations or positions.")]
Category = Annotated[str | None, Opt(help="incidents.category / observations.kind.")]
Agency = Annotated[str | None, Opt(help="Only this agency's points (code); owns the run.")]
Owner = Annotated[str | None, Opt(help="Agency (code) owning the run (default: --agency).")]
Since = Annotated[str | None, Opt(help="Window start, ISO 8601 (UTC unless an offset).")]
Until = Annotated[str | None, Opt(help="Window end (exclusive), ISO 8601; default now.")]
BBox = Annotated[str | None, Opt(help="AOI W,S,E,N (degrees).")]
Country = Annotated[str | None, Opt(help="AOI: ISO3 country of the reference data.")]
Border = Annotated[str | None, Opt(help="AOI: border code (e.g. AFG-TJK) with --buffer-km.")]
BufferKm = Annotated[float | None, Opt(help="Buffer around --border, km.")]
AoiFile = Annotated[Path | None, Opt("--aoi", help="AOI polygon GeoJSON file.")]
SumValues = Annotated[bool, Opt("--sum", help="Sum quantity/value instead of counting.")]
Grid = Annotated[str, Opt(help="hex or square.")]
CellSize = Annotated[float, Opt(help="Grid cell size, m.")]
Band = Annotated[
    float | None, Opt("--distance-band", help="Distance band, m (default: ArcGIS's rule).")
]
Knn = Annotated[int | None, Opt("--knn", help="k nearest neighbours instead of a band.")]
AsUser = Annotated[str | None, Opt("--as", help="Recorded as created_by (default: OS user).")]


@run_app.command("gistar")
def run_gistar(
    layer: Layer = "incidents",
    category: Category = None,
    agency: Agency = None,
    owner: Owner = None,
    since: Since = None,
    until: Until = None,
    bbox: BBox = None,
    country: Country = None,
    border: Border = None,
    buffer_km: BufferKm = None,
    aoi: AoiFile = None,
    sum_values: SumValues = False,
    grid: Grid = "hex",
    cell_size: CellSize = 5000.0,
    distance_band: Band = None,
    knn: Knn = None,
    fdr: Annotated[bool, Opt(help="Benjamini-Hochberg FDR bins.")] = False,
    permutations: Annotated[int | None, Opt(help="Pseudo p from N perms.")] = None,
    seed: Annotated[int | None, Opt(help="Permutation seed.")] = None,
    as_user: AsUser = None,
) -> None:
    """Getis-Ord Gi* on a hex/square grid (ArcGIS Hot Spot Analysis numbers)."""
    since, until = parse_utc(since), parse_utc(until)  # type: ignore[assignment]
    _run("gistar", dict(locals()))


@run_app.command("ehsa")
def run_ehsa(
    layer: Layer = "incidents",
    category: Category = None,
    agency: Agency = None,
    owner: Owner = None,
    since: Since = None,
    until: Until = None,
    bbox: BBox = None,
    country: Country = None,
    border: Border = None,
    buffer_km: BufferKm = None,
    aoi: AoiFile = None,
    sum_values: SumValues = False,
    grid: Grid = "hex",
    cell_size: CellSize = 5000.0,
    distance_band: Band = None,
    knn: Knn = None,
    step: Annotated[str, Opt(help="month or week.")] = "month",
    time_window: Annotated[int, Opt(help="Neighbourhood time steps.")] = 1,
    as_user: AsUser = None,
) -> None:
    """Emerging hot spots: space-time Gi*, Mann-Kendall trend and pattern per cell."""
    since, until = parse_utc(since), parse_utc(until)  # type: ignore[assignment]
    _run("ehsa", dict(locals()))


@run_app.command("kde")
def run_kde(
    layer: Layer = "incidents",
    category: Category = None,
    agency: Agency = None,
    owner: Owner = None,
    since: Since = None,
    until: Until = None,
    bbox: BBox = None,
    country: Country = None,
    border: Border = None,
    buffer_km: BufferKm = None,
    aoi: AoiFile = None,
    sum_values: SumValues = False,
    cell_size: Annotated[float, Opt("--cell-size", help="Raster cell, m.")] = 1000.0,
    bandwidth: Annotated[float | None, Opt(help="Radius, m (default ArcGIS).")] = None,
    as_user: AsUser = None,
) -> None:
    """Quartic kernel density to a GeoTIFF under data_dir/surfaces plus a surfaces row."""
    since, until = parse_utc(since), parse_utc(until)  # type: ignore[assignment]
    ctx = dict(locals())
    ctx["kde_cell_size"] = ctx.pop("cell_size")
    _run("kde", ctx)


@run_app.command("dbscan")
def run_dbscan(
    layer: Layer = "incidents",
    category: Category = None,
    agency: Agency = None,
    owner: Owner = None,
    since: Since = None,
    until: Until = None,
    bbox: BBox = None,
    country: Country = None,
    border: Border = None,
    buffer_km: BufferKm = None,
    aoi: AoiFile = None,
    sum_values: SumValues = False,
    eps: Annotated[float, Opt(help="Neighbourhood radius, m.")] = 2000.0,
    min_count: Annotated[int, Opt(help="Points to form a core.")] = 5,
    as_user: AsUser = None,
) -> None:
    """Density clusters (DBSCAN); cluster hulls stored as cells with value = count."""
    since, until = parse_utc(since), parse_utc(until)  # type: ignore[assignment]
    _run("dbscan", dict(locals()))


def list_cmd(
    limit: Annotated[int, Opt(min=1, max=10000)] = 50,
    kind: Annotated[str | None, Opt(help="Only this kind.")] = None,
) -> None:
    """Stored runs, newest first."""
    with reported_errors(), connect(db_url()) as conn:
        rows = store.list_runs(conn, limit=limit, kind=kind)
    typer.echo(
        f"{'id':>5} {'kind':<7} {'status':<8} {'points':>8} {'cells':>7} {'secs':>6} "
        f"{'by':<10} created"
    )
    for r in rows:
        typer.echo(
            f"{r['id']:>5} {r['kind']:<7} {r['status']:<8} {r['n_points'] or 0:>8} "
            f"{r['n_cells'] or 0:>7} {r['duration_s'] or 0:>6.2f} {r['created_by']:<10} "
            f"{r['created_at']:%Y-%m-%d %H:%M}"
        )


def show_cmd(run_id: int) -> None:
    """One run: parameters, input filter, CRS, counts and bins/categories."""
    with reported_errors(), connect(db_url()) as conn:
        row = store.get_run(conn, run_id)
        row["cells"] = store.cell_summary(conn, run_id)
    typer.echo(json.dumps(row, indent=2, default=str))


def delete_cmd(run_id: int) -> None:
    """Delete a run, its cells, and (kde) its surface row and GeoTIFF."""
    with reported_errors(), connect(db_url()) as conn:
        path = service.delete(conn, run_id)
    typer.echo(f"deleted run {run_id}" + (f" and {path}" if path else ""))


def rerun_cmd(run_id: int, as_user: AsUser = None) -> None:
    """A new run with the stored parameters and time window of RUN_ID."""
    with reported_errors(), connect(db_url()) as conn:
        out = service.rerun(
            conn, run_id, data_dir=settings().data_dir, created_by=as_user or getpass.getuser()
        )
        conn.commit()
    _print_outcome(out)


def register(app: typer.Typer) -> None:
    app.add_typer(run_app, name="run")
    app.command("list")(list_cmd)
    app.command("show")(show_cmd)
    app.command("delete")(delete_cmd)
    app.command("rerun")(rerun_cmd)
