"""``geomon corridor | surfaces | route``: least-cost routing and route risk from files.

Coordinates are in the raster's CRS unless ``--lonlat`` is given. GeoJSON written here is in
lon/lat (RFC 7946) when the raster has a CRS, with the analysis CRS in the properties; GeoJSON
read here is lon/lat unless ``--line-crs raster``. Storing results in PostGIS is the store's job.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import shapely
import typer
from affine import Affine
from shapely.geometry import MultiLineString, mapping, shape
from shapely.geometry.base import BaseGeometry

from geomon.analysis.surface_config import build_from_config, load_config
from geomon.cli.common import reported_errors
from geomon.errors import InvalidRequest
from geomon.spatial import corridors as cor
from geomon.spatial.costdist import accumulated_cost, cells_along_line, cells_for_points
from geomon.spatial.crs import transform_xy
from geomon.spatial.raster_io import Grid, read_geotiff, write_geotiff
from geomon.spatial.route_risk import route_risk

log = logging.getLogger(__name__)

corridor_app = typer.Typer(
    help="Accumulated cost, least-cost paths and corridors over a cost GeoTIFF.",
    no_args_is_help=True,
)
surfaces_app = typer.Typer(
    help="Risk / friction surfaces from a TOML config.", no_args_is_help=True
)
route_app = typer.Typer(help="Risk scores of routes over a surface.", no_args_is_help=True)


# a callback keeps one-command apps as groups: `geomon surfaces build`, not `geomon surfaces`
@surfaces_app.callback()
def _surfaces() -> None:
    """Risk / friction surfaces from a TOML config."""


@route_app.callback()
def _route() -> None:
    """Risk scores of routes over a surface."""


CostOpt = Annotated[Path, typer.Option("--cost", help="Cost GeoTIFF (relative cost per metre).")]
FromOpt = Annotated[list[str], typer.Option("--from", help="Source X,Y (repeatable).")]
LonLatOpt = Annotated[bool, typer.Option("--lonlat", help="--from/--to are lon,lat (WGS 84).")]
FromLineOpt = Annotated[
    Path | None, typer.Option("--from-line", help="GeoJSON line(s) as sources (e.g. a border).")
]
LineCrsOpt = Annotated[str, typer.Option(help="CRS of the GeoJSON lines: lonlat or raster.")]


# --------------------------------------------------------------------------- helpers


def _emit(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, indent=2, default=float))


def _read_raster(path: Path) -> Grid:
    if not path.is_file():
        raise InvalidRequest(f"no such raster file: {path}")
    try:
        grid = read_geotiff(path)
    except Exception as exc:  # rasterio's own errors: keep them out of the CLI's imports
        raise InvalidRequest(f"cannot read {path} as a GeoTIFF: {exc}") from None
    if grid.transform.b or grid.transform.d:
        raise InvalidRequest(f"{path} is rotated; only north-up rasters are supported")
    if abs(abs(grid.transform.a) - abs(grid.transform.e)) > 1e-6 * abs(grid.transform.a):
        log.info("non-square cells %s × %s", grid.transform.a, grid.transform.e)
    return grid


def _sampling(grid: Grid) -> tuple[float, float]:
    return abs(grid.transform.e), abs(grid.transform.a)


def _parse_xy(value: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in value.split(","))
    except ValueError:
        raise InvalidRequest(f"coordinate {value!r} is not X,Y") from None
    return x, y


def _to_raster_xy(values: list[str], grid: Grid, lonlat: bool) -> list[tuple[float, float]]:
    pts = [_parse_xy(v) for v in values]
    if not lonlat:
        return pts
    if not grid.crs:
        raise InvalidRequest("--lonlat needs a raster with a CRS")
    xs, ys = transform_xy(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]),
                          "EPSG:4326", grid.crs)  # fmt: skip
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def _cells(values: list[str], grid: Grid, lonlat: bool) -> np.ndarray:
    if not values:
        raise InvalidRequest("give at least one point")
    return cells_for_points(_to_raster_xy(values, grid, lonlat), grid.transform, grid.array.shape)


def _sources(
    values: list[str], from_line: Path | None, line_crs: str, grid: Grid, lonlat: bool
) -> np.ndarray:
    """Source cells from --from points and/or a --from-line file."""
    cells = [_cells(values, grid, lonlat)] if values else []
    if from_line is not None:
        line = _read_lines(from_line, grid, line_crs)
        cells.append(cells_along_line(line, grid.transform, grid.array.shape))
    if not cells:
        raise InvalidRequest("give --from X,Y or --from-line FILE")
    return np.vstack(cells)


def _read_lines(path: Path, grid: Grid, line_crs: str) -> BaseGeometry:
    """Every line of a GeoJSON file, in the raster CRS, as one (Multi)LineString."""
    if line_crs not in ("lonlat", "raster"):
        raise InvalidRequest("--line-crs must be lonlat or raster")
    if not path.is_file():
        raise InvalidRequest(f"no such GeoJSON file: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        feats = data["features"] if data.get("type") == "FeatureCollection" else [data]
        geoms = [shape(f["geometry"] if f.get("type") == "Feature" else f) for f in feats]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidRequest(f"{path} is not GeoJSON: {exc}") from None
    lines = [g for g in geoms if g.geom_type in ("LineString", "MultiLineString")]
    if not lines:
        raise InvalidRequest(f"{path} holds no LineString")
    parts = [p for g in lines for p in getattr(g, "geoms", [g])]
    merged: BaseGeometry = parts[0] if len(parts) == 1 else MultiLineString(parts)
    if line_crs == "raster":
        return merged
    if not grid.crs:
        raise InvalidRequest("the raster has no CRS: use --line-crs raster")
    return shapely.transform(merged, lambda xy: np.column_stack(
        transform_xy(xy[:, 0], xy[:, 1], "EPSG:4326", grid.crs)))  # fmt: skip


def _lonlat_geom(geom: BaseGeometry, grid: Grid) -> dict[str, Any]:
    if not grid.crs:
        return dict(mapping(geom))
    return dict(mapping(shapely.transform(geom, lambda xy: np.column_stack(
        transform_xy(xy[:, 0], xy[:, 1], grid.crs, "EPSG:4326")))))  # fmt: skip


def _write_geojson(path: Path, features: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(fc, default=float), encoding="utf-8")


def _check_out(out: Path, allowed: tuple[str, ...]) -> None:
    if out.suffix.lower() not in allowed:
        raise InvalidRequest(f"--out must end with one of {', '.join(allowed)}")


# --------------------------------------------------------------------------- corridor


@corridor_app.command("accumulate")
def accumulate(
    cost: CostOpt,
    out: Annotated[Path, typer.Option("--out", help="Accumulated cost GeoTIFF to write.")],
    sources: FromOpt = [],  # noqa: B006 - typer reads the default
    from_line: FromLineOpt = None,
    line_crs: LineCrsOpt = "lonlat",
    lonlat: LonLatOpt = False,
    backlink: Annotated[Path | None, typer.Option(help="Also write the int8 backlinks.")] = None,
) -> None:
    """Accumulated cost (cost × metres) from points and/or lines; unreachable cells = nodata."""
    with reported_errors():
        _check_out(out, (".tif", ".tiff"))
        grid = _read_raster(cost)
        src = _sources(sources, from_line, line_crs, grid, lonlat)
        cd = accumulated_cost(grid.array, src, sampling=_sampling(grid),
                              nodata=grid.nodata)  # fmt: skip
        acc = np.where(np.isfinite(cd.accumulated), cd.accumulated, -1.0)
        tags = {"geomon_units": "cost x metres", "geomon_cost": str(cost)}
        write_geotiff(out, Grid(acc, grid.transform, grid.crs, -1.0, tags))
        if backlink is not None:
            tags = {"geomon_backlink": "0..7 = costdist.OFFSETS, -1 source, -2 unreachable"}
            write_geotiff(backlink, Grid(cd.backlink, grid.transform, grid.crs, -2, tags))
        fin = np.isfinite(cd.accumulated)
        _emit({"out": str(out), "n_sources": len(cd.sources), "reachable_cells": int(fin.sum()),
               "max_cost": float(cd.accumulated[fin].max())})  # fmt: skip


@corridor_app.command("path")
def path(
    cost: CostOpt,
    to: Annotated[str, typer.Option("--to", help="Target X,Y.")],
    sources: FromOpt = [],  # noqa: B006 - typer reads the default
    from_line: FromLineOpt = None,
    line_crs: LineCrsOpt = "lonlat",
    lonlat: LonLatOpt = False,
    out: Annotated[Path | None, typer.Option(help="Write the path as GeoJSON.")] = None,
) -> None:
    """Least-cost path; prints JSON with total_cost (cost × metres), n_cells and length_m."""
    with reported_errors():
        if out is not None:
            _check_out(out, (".geojson", ".json"))
        grid = _read_raster(cost)
        src = _sources(sources, from_line, line_crs, grid, lonlat)
        tgt = _cells([to], grid, lonlat)[0]
        p = cor.least_cost_path(grid.array, src, (int(tgt[0]), int(tgt[1])),
                                sampling=_sampling(grid), nodata=grid.nodata,
                                transform=grid.transform)  # fmt: skip
        summary: dict[str, Any] = dict(p.summary())
        if out is not None:
            assert p.line is not None
            props = {**summary, "analysis_crs": grid.crs, "cost": str(cost)}
            _write_geojson(out, [{"type": "Feature", "geometry": _lonlat_geom(p.line, grid),
                                  "properties": props}])  # fmt: skip
            summary["out"] = str(out)
        _emit(summary)


@corridor_app.command("build")
def build(
    cost: CostOpt,
    to: Annotated[list[str], typer.Option("--to", help="Target X,Y (repeatable).")],
    out: Annotated[Path, typer.Option("--out", help="CORRIDOR.tif (rank raster) or .geojson.")],
    sources: FromOpt = [],  # noqa: B006 - typer reads the default
    from_line: FromLineOpt = None,
    line_crs: LineCrsOpt = "lonlat",
    percentile: Annotated[float | None, typer.Option(help="Cut at this percentile.")] = None,
    within_pct: Annotated[float | None, typer.Option(help="Cut within X % of the min.")] = None,
    alternatives: Annotated[int, typer.Option(min=1, max=10, help="Number of corridors.")] = 1,
    margin: Annotated[float | None, typer.Option(help="Alternatives' margin, m.")] = None,
    pairs: Annotated[bool, typer.Option(help="Each --from × each --to separately.")] = False,
    lonlat: LonLatOpt = False,
    store: Annotated[bool, typer.Option(help="Also store them (needs --surface-id).")] = False,
    surface_id: Annotated[int | None, typer.Option(help="Stored surface they belong to.")] = None,
) -> None:
    """Corridor(s) A↔B; prints JSON with the threshold and n_cells of each corridor."""
    with reported_errors():
        if store and surface_id is None:
            raise InvalidRequest("--store needs --surface-id N (the stored surface of --cost)")
        _check_out(out, (".tif", ".tiff", ".geojson", ".json"))
        if (percentile is None) == (within_pct is None):
            raise InvalidRequest("give exactly one of --percentile or --within-pct")
        grid = _read_raster(cost)
        b = _cells(to, grid, lonlat)
        if pairs and from_line is not None:
            raise InvalidRequest("--pairs takes --from points, not --from-line")
        a = _sources(sources, from_line, line_crs, grid, lonlat)
        kw: dict[str, Any] = {"sampling": _sampling(grid), "nodata": grid.nodata,
                              "percentile": percentile, "within_pct": within_pct,
                              "transform": grid.transform}  # fmt: skip
        named: list[tuple[dict[str, Any], cor.Corridor]]
        if pairs:
            found = cor.corridors_between(grid.array, [[c] for c in a], [[c] for c in b], **kw)
            named = [({"from": sources[p.i], "to": to[p.j]}, p.corridor) for p in found]
        else:
            m = margin if margin is not None else 5 * grid.cell_size
            alts = cor.alternative_corridors(grid.array, a, b, k=alternatives, margin_m=m, **kw)
            named = [({"rank": i + 1}, c) for i, c in enumerate(alts)]
        if not named:
            raise InvalidRequest("no corridor: the places are not connected")
        _write_corridors(out, grid, named)
        result: dict[str, Any] = {
            "out": str(out),
            "corridors": [{**k, **c.summary()} for k, c in named],
        }
        if store:
            from geomon.cli.corridor_db import store_file_corridors

            assert surface_id is not None
            request = {
                "cost": str(cost),
                "from": sources,
                "to": to,
                "percentile": percentile,
                "within_pct": within_pct,
                "alternatives": alternatives,
                "margin_m": margin,
                "pairs": pairs,
                "lonlat": lonlat,
            }
            result["stored_ids"] = store_file_corridors(surface_id, grid, named, request, None)
        _emit(result)


def _write_corridors(
    out: Path, grid: Grid, named: list[tuple[dict[str, Any], cor.Corridor]]
) -> None:
    if out.suffix.lower() in (".tif", ".tiff"):
        ranks = np.zeros(grid.array.shape, dtype=np.uint8)
        for i, (_, c) in reversed(list(enumerate(named))):
            ranks[c.mask] = i + 1  # earlier (better) corridors win where they overlap
        write_geotiff(out, Grid(ranks, grid.transform, grid.crs, 0,
                                {"geomon_values": "corridor number, 0 outside"}))  # fmt: skip
        return
    feats = []
    for k, c in named:
        polys = cor.corridor_polygons(c.mask, grid.transform)
        geom = shapely.union_all(polys)
        feats.append({"type": "Feature", "geometry": _lonlat_geom(geom, grid),
                      "properties": {**k, **c.summary(), "analysis_crs": grid.crs}})  # fmt: skip
    _write_geojson(out, feats)


# --------------------------------------------------------------------------- surfaces, route


@surfaces_app.command("build")
def surfaces_build(
    config: Annotated[Path, typer.Option("--config", help="Surface TOML (see docs).")],
    out: Annotated[Path, typer.Option("--out", help="Surface GeoTIFF (COG) to write.")],
    store: Annotated[bool, typer.Option(help="Also record it in `surfaces`.")] = False,
    owner: Annotated[str | None, typer.Option(help="Agency code owning the row.")] = None,
) -> None:
    """Build a friction surface (relative cost per metre) with its inputs recorded in tags."""
    with reported_errors():
        _check_out(out, (".tif", ".tiff"))
        if store and not owner:
            from geomon.cli.corridor_db import NO_OWNER

            raise InvalidRequest(NO_OWNER)
        grid = build_from_config(load_config(config))
        write_geotiff(out, grid)
        ok = grid.array[grid.array != grid.nodata]
        stored: dict[str, Any] = {}
        if store:
            from geomon.cli.corridor_db import store_built

            stored["surface_id"] = store_built(grid, out, config, owner, None)
        _emit({**stored, "out": str(out), "shape": list(grid.array.shape), "crs": grid.crs,
               "min": float(ok.min()) if ok.size else None,
               "max": float(ok.max()) if ok.size else None,
               "impassable_cells": int((grid.array == grid.nodata).sum()),
               "layers": json.loads(grid.tags["geomon_layers"])})  # fmt: skip


@route_app.command("risk")
def risk(
    surface: Annotated[Path | None, typer.Option("--surface", help="Surface GeoTIFF.")] = None,
    surface_id: Annotated[int | None, typer.Option(help="A stored surface instead.")] = None,
    line: Annotated[Path | None, typer.Option("--line", help="Route as GeoJSON.")] = None,
    line_crs: LineCrsOpt = "lonlat",
    device: Annotated[str | None, typer.Option(help="Device uid/id: its track.")] = None,
    since: Annotated[str | None, typer.Option(help="Track start (ISO time).")] = None,
    until: Annotated[str | None, typer.Option(help="Track end (ISO time).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Report segments above.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write segments as GeoJSON.")] = None,
) -> None:
    """Mean, max and integrated risk along a route, and the segments above --threshold."""
    with reported_errors():
        if (surface is None) == (surface_id is None):
            raise InvalidRequest("give exactly one of --surface FILE.tif or --surface-id N")
        if (line is None) == (device is None):
            raise InvalidRequest("give exactly one of --line FILE.geojson or --device ID")
        if device is not None or surface_id is not None:
            _risk_db(surface, surface_id, line, line_crs, device, since, until, threshold, out)
            return
        assert surface is not None and line is not None
        grid = _read_raster(surface)
        r = route_risk(grid, _read_lines(line, grid, line_crs), threshold=threshold)
        summary = r.summary()
        if out is not None:
            feats = [{**f, "geometry": _lonlat_geom(shape(f["geometry"]), grid)}
                     for f in r.segments]  # fmt: skip
            _write_geojson(out, feats)
            summary["out"] = str(out)
        _emit(summary)


def _risk_db(
    surface: Path | None,
    surface_id: int | None,
    line: Path | None,
    line_crs: str,
    device: str | None,
    since: str | None,
    until: str | None,
    threshold: float | None,
    out: Path | None,
) -> None:
    from geomon.cli.corridor_db import route_risk_db

    lonlat = None
    if line is not None:
        if line_crs != "lonlat":
            raise InvalidRequest("--surface-id takes --line in lon/lat")
        lonlat = _read_lines(line, Grid(np.zeros((1, 1)), Affine.identity(), ""), "raster")
    result = route_risk_db(surface, surface_id, lonlat, device, since, until, threshold)
    if out is not None:
        _write_geojson(out, result["segments"]["features"])
        result["out"] = str(out)
    result.pop("segments")
    typer.echo(json.dumps(result, indent=2, default=str))  # fix times are datetimes


def _register_db_commands() -> None:
    from geomon.cli.corridor_db import register

    register(surfaces_app, corridor_app, route_app)


_register_db_commands()
