"""``geomon hotspots``: hot spot layers from files (no database needed).

File mode for analysts: Getis–Ord Gi* on a square/hexagon grid of points or on polygon
features, and quartic kernel density to a Cloud-Optimised GeoTIFF. The database-backed
``run/list/show`` commands are added next to these by the store layer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import shapely
import typer
from pyproj import CRS
from pyproj.exceptions import CRSError

from geomon.analysis import hotspot_files as files
from geomon.cli.common import fail, reported_errors
from geomon.errors import InvalidRequest
from geomon.spatial.gistar import GiStarResult, gistar
from geomon.spatial.grid import GridSpec, aggregate_to_grid
from geomon.spatial.kde import kernel_density
from geomon.spatial.raster_io import write_geotiff
from geomon.spatial.weights import Weights, contiguity, distance_band, knn

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Hot spot layers: Getis-Ord Gi* and kernel density, from CSV/GeoJSON files.",
    no_args_is_help=True,
)


class GridKind(StrEnum):
    square = "square"
    hex = "hex"


class FeatureWeights(StrEnum):
    queen = "queen"
    rook = "rook"
    distance = "distance"


def metric_crs(value: str) -> str:
    """Accept only a projected CRS in metres (distances and cell sizes are metres)."""
    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        raise typer.BadParameter(f"{value!r} is not a CRS (try EPSG:32642)") from None
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not crs.is_projected or unit not in ("metre", "meter"):
        raise typer.BadParameter(f"{value} is not a projected CRS in metres")
    return value


def parse_extent(value: str | None) -> tuple[float, float, float, float] | None:
    """'XMIN,YMIN,XMAX,YMAX' in the analysis CRS."""
    if value is None:
        return None
    try:
        parts = [float(v) for v in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not (parts[0] < parts[2] and parts[1] < parts[3]):
        raise typer.BadParameter("extent must be XMIN,YMIN,XMAX,YMAX with XMIN<XMAX, YMIN<YMAX")
    return parts[0], parts[1], parts[2], parts[3]


@contextlib.contextmanager
def _file_errors() -> Iterator[None]:
    """An unreadable input or unwritable output is the user's to fix: message, not traceback."""
    try:
        yield
    except (OSError, UnicodeDecodeError) as exc:
        fail(str(exc))


def _out_kind(out: Path, allowed: tuple[str, ...]) -> str:
    suffix = out.suffix.lower()
    if suffix not in allowed:
        raise typer.BadParameter(f"--out must end with one of {', '.join(allowed)}")
    return suffix


@app.command("gistar")
def gistar_cmd(
    out: Annotated[Path, typer.Option(help="Output FILE.csv or FILE.geojson.")],
    crs: Annotated[
        str, typer.Option(callback=metric_crs, help="Metric analysis CRS, e.g. EPSG:32642.")
    ],
    points: Annotated[
        Path | None, typer.Option(help="Points: CSV (x,y or lon,lat) or GeoJSON.")
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            help="Features analysed as they are (GeoJSON polygons, or points with --weights "
            "distance / --knn) instead of a grid of points."
        ),
    ] = None,
    value: Annotated[
        str | None, typer.Option(help="Field to sum per cell (points) or to analyse (features).")
    ] = None,
    grid: Annotated[GridKind, typer.Option(help="Grid of cells for points.")] = GridKind.hex,
    cell_size: Annotated[
        float | None, typer.Option(min=0.001, help="Cell size in metres (points).")
    ] = None,
    extent: Annotated[
        str | None,
        typer.Option(
            help="XMIN,YMIN,XMAX,YMAX in the analysis CRS; every cell "
            "inside is analysed, empty ones included."
        ),
    ] = None,
    distance_band_m: Annotated[
        float | None,
        typer.Option(
            "--distance-band",
            min=0.001,
            help="Fixed distance band in metres (default: the "
            "smallest band giving every cell a neighbour).",
        ),
    ] = None,
    knn_k: Annotated[
        int | None, typer.Option("--knn", min=1, help="k nearest neighbours instead of a band.")
    ] = None,
    weights: Annotated[
        FeatureWeights, typer.Option(help="Weights for --features: queen, rook or distance.")
    ] = FeatureWeights.queen,
    fdr: Annotated[
        bool, typer.Option(help="Fill gi_bin_fdr with the Benjamini-Hochberg FDR bins.")
    ] = False,
    permutations: Annotated[
        int | None,
        typer.Option(
            min=1, help="Add p_sim: conditional-permutation pseudo p from N permutations."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed for the permutations.")] = None,
) -> None:
    """Getis-Ord Gi* hot spots (z, p, Gi_Bin as ArcGIS) on a grid of points or on polygons."""
    kind = _out_kind(out, (".csv", ".geojson", ".json"))
    if (points is None) == (features is None):
        raise typer.BadParameter("give exactly one of --points or --features")
    if distance_band_m is not None and knn_k is not None:
        raise typer.BadParameter("--distance-band and --knn exclude each other")
    ext = parse_extent(extent)
    with reported_errors(), _file_errors():
        if points is not None:
            rows, polys, meta = _gistar_points(
                points,
                value,
                crs,
                grid.value,
                cell_size,
                ext,
                distance_band_m,
                knn_k,
                fdr,
                permutations,
                seed,
            )
        else:
            assert features is not None
            rows, polys, meta = _gistar_features(
                features, value, crs, weights.value, distance_band_m, knn_k, fdr, permutations, seed
            )
        if kind == ".csv":
            files.write_csv(out, rows)
        else:
            files.write_geojson(out, rows, polys() if callable(polys) else polys, meta)
    hot = sum(1 for r in rows if r["gi_bin"] > 0)
    cold = sum(1 for r in rows if r["gi_bin"] < 0)
    typer.echo(
        f"{len(rows)} {meta['unit']}s, weights {meta['weights']}: "
        f"{hot} hot, {cold} cold (90 %+); wrote {out}"
    )
    if meta.get("dropped_points"):
        typer.echo(f"{meta['dropped_points']} points fell outside the grid and were not counted")


def _weights_for(cx, cy, band, k) -> Weights:
    return knn(cx, cy, k) if k is not None else distance_band(cx, cy, band)


def _describe(w: Weights) -> str:
    s = w.summary()
    if w.kind == "distance_band":
        return f"distance band {w.threshold:.1f} m (mean {s['mean_neighbours']:.1f} neighbours)"
    return f"{w.kind}{'' if w.k is None else f' k={w.k}'} (mean {s['mean_neighbours']:.1f})"


def _run(values: np.ndarray, w: Weights, fdr: bool, permutations, seed) -> GiStarResult:
    if seed is not None and not permutations:
        raise InvalidRequest("--seed only makes sense with --permutations")
    return gistar(values, w, fdr=fdr, permutations=permutations, seed=seed)


def _gistar_points(path, value, crs, grid, cell_size, extent, band, k, fdr, perms, seed):
    if cell_size is None:
        raise InvalidRequest("--cell-size is required with --points")
    pts = files.read_points(path, crs, value)
    cells = aggregate_to_grid(pts.x, pts.y, pts.values, GridSpec(grid, cell_size, extent))
    w = _weights_for(cells.cx, cells.cy, band, k)
    res = _run(cells.values, w, fdr, perms, seed)
    name = "value" if value else "count"
    rows = files.result_rows(cells.ids.tolist(), cells.cx, cells.cy, cells.values, name, res)
    meta = {
        "unit": "cell",
        "weights": _describe(w),
        "crs": crs,
        "grid": grid,
        "cell_size_m": cell_size,
        "dropped_points": cells.n_points_dropped,
    }
    return rows, lambda: files.to_wgs84(cells.polygons(), crs), meta


def _gistar_features(path, value, crs, rule, band, k, fdr, perms, seed):
    if value is None:
        raise InvalidRequest("--value is required with --features")
    feats = files.read_features(path, crs, value)
    pts = shapely.get_coordinates(shapely.centroid(feats.polygons))
    if rule == "distance" or k is not None:
        w = _weights_for(pts[:, 0], pts[:, 1], band, k)
    else:
        if band is not None:
            raise InvalidRequest("--distance-band needs --weights distance")
        if (shapely.get_type_id(feats.polygons) == 0).any():
            raise InvalidRequest(
                f"{rule} contiguity needs polygons; for point features use "
                "--weights distance or --knn"
            )
        w = contiguity(feats.polygons, rule)
    res = _run(feats.values, w, fdr, perms, seed)
    rows = files.result_rows(feats.ids, pts[:, 0], pts[:, 1], feats.values, "value", res)
    meta = {"unit": "feature", "weights": _describe(w), "crs": crs}
    return rows, feats.polygons_wgs84, meta


@app.command("kde")
def kde_cmd(
    points: Annotated[Path, typer.Option(help="Points: CSV (x,y or lon,lat) or GeoJSON.")],
    crs: Annotated[
        str, typer.Option(callback=metric_crs, help="Metric output CRS, e.g. EPSG:32642.")
    ],
    cell_size: Annotated[float, typer.Option(min=0.001, help="Raster cell size in metres.")],
    out: Annotated[Path, typer.Option(help="Output FILE.tif (Cloud-Optimised GeoTIFF).")],
    bandwidth: Annotated[
        float | None,
        typer.Option(min=0.001, help="Search radius in metres (default: ArcGIS's rule)."),
    ] = None,
    population: Annotated[
        str | None, typer.Option(help="Field weighting each point (ArcGIS population field).")
    ] = None,
    extent: Annotated[
        str | None, typer.Option(help="XMIN,YMIN,XMAX,YMAX (default: points + bandwidth).")
    ] = None,
) -> None:
    """Quartic kernel density (ArcGIS Kernel Density) in points per km², as a COG."""
    _out_kind(out, (".tif", ".tiff"))
    ext = parse_extent(extent)
    with reported_errors(), _file_errors():
        pts = files.read_points(points, crs, population)
        res = kernel_density(
            pts.x,
            pts.y,
            cell_size=cell_size,
            crs=crs,
            bandwidth=bandwidth,
            weights=pts.values,
            extent=ext,
        )
        write_geotiff(out, res.grid)
    rows, cols = res.grid.array.shape
    rule = "ArcGIS default rule" if res.bandwidth_is_default else "given"
    typer.echo(
        f"{res.n_points} points, bandwidth {res.bandwidth:.1f} m ({rule}), "
        f"{cols}x{rows} cells of {cell_size:g} m ({res.method}); wrote {out}"
    )


def _register_db_commands() -> None:
    from geomon.cli.hotspots_db import register

    register(app)


_register_db_commands()
