"""TOML configuration of a friction surface, and loading its input files into arrays/geometries.

Vector inputs are GeoJSON in lon/lat (RFC 7946) or, for point layers, a CSV with ``lat``/``lon``
columns (optionally filtered by its ``kind`` column); they are reprojected into the grid's
metric CRS here, so :func:`geomon.spatial.surfaces.build_surface` stays pure. Relative paths
are resolved against the TOML file's folder. Example::

    [grid]
    bbox_lonlat = [68.0, 36.9, 69.6, 38.0]   # west, south, east, north
    cell_size_m = 500                        # crs defaults to the bbox's metric CRS
    [dem]
    synthetic_seed = 7                       # or: path = "dem.tif" (then it defines the grid)
    [weights]                                # any SurfaceWeights field
    crossing_weight = 2.0
    [inputs]
    borders = "borders.geojson"
    crossings = "places.csv"
    crossing_kinds = ["road_bcp"]
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from shapely.geometry import Point, box, shape
from shapely.geometry.base import BaseGeometry

from geomon.errors import ConfigError, SpatialError
from geomon.spatial.crs import metric_crs_for_bbox, transform_xy
from geomon.spatial.raster_io import Grid, read_geotiff
from geomon.spatial.surfaces import SurfaceWeights, build_surface, synthetic_dem

MAX_CELLS = 50_000_000


class GridSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bbox_lonlat: tuple[float, float, float, float] = Field(description="west, south, east, north")
    cell_size_m: float = Field(gt=0, description="square cell size in metres")
    crs: str | None = Field(default=None, description="metric CRS; default chosen from the bbox")


class DemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(
        default=None, description="DEM GeoTIFF in a metric CRS; defines the grid"
    )
    synthetic_seed: int | None = Field(default=None, description="seed of the synthetic DEM")
    relief_m: float = Field(default=2500.0, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> DemSpec:
        if (self.path is None) == (self.synthetic_seed is None):
            raise ValueError("[dem] needs exactly one of path or synthetic_seed")
        return self


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    borders: str | None = None
    crossings: str | None = None
    crossing_kinds: list[str] | None = None
    roads: str | None = None
    impassable: str | None = None
    patrols: str | None = None
    hotspot: str | None = Field(default=None, description="hotspot density GeoTIFF (any CRS/grid)")


class SurfaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grid: GridSpec | None = None
    dem: DemSpec
    weights: dict[str, float | bool] = Field(default_factory=dict)
    inputs: InputSpec = Field(default_factory=lambda: InputSpec())
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _grid_needed(self) -> SurfaceConfig:
        if self.dem.path is None and self.grid is None:
            raise ValueError("a synthetic DEM needs a [grid] section")
        known = {f.name for f in fields(SurfaceWeights)}
        if unknown := sorted(set(self.weights) - known):
            raise ValueError(f"unknown weights {unknown}; known: {sorted(known)}")
        return self

    def surface_weights(self) -> SurfaceWeights:
        return SurfaceWeights(**self.weights)  # type: ignore[arg-type]

    def resolve(self, p: str) -> Path:
        path = Path(p)
        return path if path.is_absolute() else self.base_dir / path


def load_config(path: str | Path) -> SurfaceConfig:
    """Parse and validate a surface TOML file (ConfigError says what is wrong)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return SurfaceConfig(**raw, base_dir=path.resolve().parent)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {msgs}") from exc


def dem_for(cfg: SurfaceConfig) -> Grid:
    """The DEM grid: read from the file, or synthesised on the configured grid."""
    if cfg.dem.path is not None:
        dem = read_geotiff(cfg.resolve(cfg.dem.path))
        if not dem.crs:
            raise SpatialError("the DEM has no CRS")
        return dem
    assert cfg.grid is not None and cfg.dem.synthetic_seed is not None
    g = cfg.grid
    crs = g.crs or metric_crs_for_bbox(*g.bbox_lonlat).to_string()
    w, s, e, n = g.bbox_lonlat
    xs, ys = transform_xy(np.array([w, e, w, e]), np.array([s, s, n, n]), "EPSG:4326", crs)
    x0, y1 = float(xs.min()), float(ys.max())
    cols = math.ceil((xs.max() - x0) / g.cell_size_m)
    rows = math.ceil((y1 - ys.min()) / g.cell_size_m)
    if rows * cols > MAX_CELLS:
        raise ConfigError(f"grid of {rows}×{cols} cells is too large; raise cell_size_m")
    tr = Affine(g.cell_size_m, 0, x0, 0, -g.cell_size_m, y1)
    return synthetic_dem((rows, cols), tr, crs, seed=cfg.dem.synthetic_seed,
                         relief_m=cfg.dem.relief_m)  # fmt: skip


def read_vector_lonlat(path: Path, kinds: list[str] | None = None) -> list[BaseGeometry]:
    """Geometries of a GeoJSON file, or points of a CSV with lat/lon (and optional kind)."""
    if not path.exists():
        raise ConfigError(f"input file not found: {path}")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        return [
            Point(float(r["lon"]), float(r["lat"]))
            for r in rows
            if kinds is None or r.get("kind") in kinds
        ]
    data = json.loads(path.read_text(encoding="utf-8"))
    feats = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    geoms = [shape(f["geometry"] if f.get("type") == "Feature" else f) for f in feats or []]
    return [g for g in geoms if not g.is_empty]


def to_grid_crs(geoms: list[BaseGeometry], dem: Grid) -> list[BaseGeometry]:
    """Reproject lon/lat geometries into the grid CRS, keeping those near the grid."""
    out = []
    w, s, e, n = dem.bounds()
    frame = box(w, s, e, n).buffer(10 * dem.cell_size)
    for g in geoms:
        pg = shapely.transform(
            g, lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], "EPSG:4326", dem.crs))
        )
        if pg.is_valid and pg.intersects(frame):
            out.append(pg)
        elif not pg.is_valid and pg.buffer(0).intersects(frame):
            out.append(pg.buffer(0))
    return out


def hotspot_on_grid(path: Path, dem: Grid) -> np.ndarray:
    """A hotspot raster resampled (nearest cell) onto the DEM grid; 0 outside it."""
    src = read_geotiff(path)
    rows, cols = dem.array.shape
    cc, rr = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    x = dem.transform.c + cc * dem.transform.a
    y = dem.transform.f + rr * dem.transform.e
    if src.crs and dem.crs and src.crs != dem.crs:
        x, y = transform_xy(x.ravel(), y.ravel(), dem.crs, src.crs)
        x, y = x.reshape(rows, cols), y.reshape(rows, cols)
    sc = np.floor((x - src.transform.c) / src.transform.a).astype(np.int64)
    sr = np.floor((y - src.transform.f) / src.transform.e).astype(np.int64)
    inside = (sr >= 0) & (sr < src.array.shape[0]) & (sc >= 0) & (sc < src.array.shape[1])
    out = np.zeros((rows, cols))
    vals = src.array[sr[inside], sc[inside]].astype(np.float64)
    if src.nodata is not None:
        vals[vals == src.nodata] = 0.0
    out[inside] = vals
    return out


def build_from_config(cfg: SurfaceConfig) -> Grid:
    """Load every configured input and build the surface; inputs are recorded in its tags."""
    dem = dem_for(cfg)
    inp = cfg.inputs
    kw: dict[str, Any] = {}
    record: dict[str, str] = {"dem": cfg.dem.path or f"synthetic seed={cfg.dem.synthetic_seed}"}
    for name in ("borders", "crossings", "roads", "impassable", "patrols"):
        p = getattr(inp, name)
        if p is not None:
            kinds = inp.crossing_kinds if name == "crossings" else None
            kw[name] = to_grid_crs(read_vector_lonlat(cfg.resolve(p), kinds), dem)
            record[name] = str(cfg.resolve(p)) + (f" kinds={kinds}" if kinds else "")
    if inp.hotspot is not None:
        kw["hotspot"] = hotspot_on_grid(cfg.resolve(inp.hotspot), dem)
        record["hotspot"] = str(cfg.resolve(inp.hotspot))
    record["grid_crs"] = dem.crs
    return build_surface(dem, cfg.surface_weights(), inputs=record, **kw)
