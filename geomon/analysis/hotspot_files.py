"""File mode of the hotspot engine: read points/polygons from CSV or GeoJSON, write results.

Inputs:

* CSV with a header: ``x,y`` columns (already in the analysis CRS) or ``lon,lat`` /
  ``longitude,latitude`` / ``lng,lat`` (EPSG:4326); an optional numeric value column.
* GeoJSON (RFC 7946, so EPSG:4326): Point/MultiPoint features, or Polygon/MultiPolygon
  features for feature mode; values from ``properties``.

Outputs: a CSV with one row per cell/feature
``id,cx,cy,count|value,z,p,gi_bin,gi_bin_fdr[,p_sim]`` (cx, cy in the analysis CRS;
gi_bin_fdr is empty unless the FDR correction was asked for), or a GeoJSON FeatureCollection
of the cells/features as polygons in EPSG:4326 with the same properties.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from geomon.errors import InvalidRequest
from geomon.spatial.crs import transform_xy
from geomon.spatial.gistar import GiStarResult

WGS84 = "EPSG:4326"
LONLAT_NAMES = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"))


@dataclass(frozen=True)
class PointsInput:
    """Points in the analysis CRS and their optional values."""

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray | None


@dataclass(frozen=True)
class FeaturesInput:
    """Features (polygons, or points analysed as they are): ids, geometries in the analysis
    CRS and as read (EPSG:4326), values."""

    ids: list[str]
    polygons: np.ndarray
    polygons_wgs84: np.ndarray
    values: np.ndarray


def _number(raw: Any, what: str) -> float:
    try:
        v = float(raw)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{what}: {raw!r} is not a number") from None
    if not math.isfinite(v):
        raise InvalidRequest(f"{what}: {raw!r} is not a finite number")
    return v


def read_points(path: str | Path, crs: str, value_field: str | None = None) -> PointsInput:
    """Read points from CSV or GeoJSON and project them into ``crs``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"{path}: no such file")
    if path.suffix.lower() in (".geojson", ".json"):
        return _points_geojson(path, crs, value_field)
    return _points_csv(path, crs, value_field)


def _coord_columns(header: list[str], path: Path) -> tuple[str, str, bool]:
    lower = {h.strip().lower(): h for h in header}
    if "x" in lower and "y" in lower:
        return lower["x"], lower["y"], False
    for a, b in LONLAT_NAMES:
        if a in lower and b in lower:
            return lower[a], lower[b], True
    raise InvalidRequest(f"{path}: needs x,y or lon,lat columns; found {', '.join(header)}")


def _points_csv(path: Path, crs: str, value_field: str | None) -> PointsInput:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        xcol, ycol, lonlat = _coord_columns(header, path)
        if value_field is not None and value_field not in header:
            raise InvalidRequest(f"{path}: no column {value_field!r}; found {', '.join(header)}")
        xs, ys, vs = [], [], []
        for line, row in enumerate(reader, start=2):
            xs.append(_number(row[xcol], f"{path}:{line} {xcol}"))
            ys.append(_number(row[ycol], f"{path}:{line} {ycol}"))
            if value_field is not None:
                vs.append(_number(row[value_field], f"{path}:{line} {value_field}"))
    if not xs:
        raise InvalidRequest(f"{path}: no data rows")
    x, y = np.array(xs), np.array(ys)
    if lonlat:
        _check_lonlat(x, y, path)
        x, y = transform_xy(x, y, WGS84, crs)
    return PointsInput(x, y, np.array(vs) if value_field is not None else None)


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, path: Path) -> None:
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        raise InvalidRequest(f"{path}: lon/lat values out of range")


def _load_features(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{path}: not readable GeoJSON ({exc})") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list) or not feats:
        raise InvalidRequest(f"{path}: not a GeoJSON FeatureCollection with features")
    return feats


def _value(feat: dict[str, Any], field: str, where: str) -> float:
    props = feat.get("properties") or {}
    if field not in props:
        raise InvalidRequest(f"{where}: no property {field!r}")
    return _number(props[field], f"{where} {field}")


def _point_coords(geom: dict[str, Any], where: str) -> list[Any]:
    kind = geom.get("type")
    coords: Any = geom.get("coordinates")
    if kind == "Point":
        coords = [coords]
    elif kind != "MultiPoint":
        raise InvalidRequest(f"{where} is {kind}; points expected")
    if not isinstance(coords, list) or not all(
        isinstance(c, list | tuple) and len(c) >= 2 for c in coords
    ):
        raise InvalidRequest(f"{where}: malformed coordinates")
    return coords


def _points_geojson(path: Path, crs: str, value_field: str | None) -> PointsInput:
    xs, ys, vs = [], [], []
    for k, feat in enumerate(_load_features(path)):
        where = f"{path}: feature {k}"
        for c in _point_coords(feat.get("geometry") or {}, where):
            xs.append(_number(c[0], f"{where} lon"))
            ys.append(_number(c[1], f"{where} lat"))
            if value_field is not None:
                vs.append(_value(feat, value_field, where))
    lon, lat = np.array(xs), np.array(ys)
    _check_lonlat(lon, lat, path)
    x, y = transform_xy(lon, lat, WGS84, crs)
    return PointsInput(x, y, np.array(vs) if value_field is not None else None)


def read_features(
    path: str | Path, crs: str, value_field: str, id_field: str | None = None
) -> FeaturesInput:
    """Read polygon (or point) features with a numeric value (GeoJSON, EPSG:4326) into ``crs``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"{path}: no such file")
    ids, geoms, vals = [], [], []
    for k, feat in enumerate(_load_features(path)):
        where = f"{path}: feature {k}"
        try:
            geom = shape(feat.get("geometry"))
        except Exception as exc:  # shapely raises several types for malformed geometry
            raise InvalidRequest(f"{where}: bad geometry ({exc})") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon", "Point"):
            raise InvalidRequest(f"{where} is {geom.geom_type}, expected Polygon or Point")
        props = feat.get("properties") or {}
        fid = props.get(id_field) if id_field else feat.get("id", props.get("id", k))
        ids.append(str(fid))
        geoms.append(geom)
        vals.append(_value(feat, value_field, where))
    wgs = np.array(geoms, dtype=object)
    projected = shapely.transform(
        wgs, lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], WGS84, crs))
    )
    return FeaturesInput(ids, projected, wgs, np.array(vals))


def result_rows(
    ids: list[str] | np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    values: np.ndarray,
    value_name: str,
    result: GiStarResult,
) -> list[dict[str, Any]]:
    """One dict per cell/feature with the output columns, in output order."""
    rows = []
    for i in range(len(cx)):
        row: dict[str, Any] = {
            "id": _plain(ids[i]),
            "cx": round(float(cx[i]), 3),
            "cy": round(float(cy[i]), 3),
            value_name: float(values[i]),
            "z": _num(result.z[i]),
            "p": _num(result.p[i]),
            "gi_bin": int(result.gi_bin[i]),
            "gi_bin_fdr": int(result.gi_bin_fdr[i]) if result.gi_bin_fdr is not None else None,
        }
        if result.p_sim is not None:
            row["p_sim"] = float(result.p_sim[i])
        rows.append(row)
    return rows


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def write_csv(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Write result rows as CSV (full float precision; empty field for a missing value)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: ("" if v is None else repr(v) if isinstance(v, float) else v)
                    for k, v in row.items()
                }
            )
    return path


def to_wgs84(polygons: np.ndarray, crs: str) -> np.ndarray:
    """Project analysis-CRS polygons to EPSG:4326 vertex by vertex."""
    return shapely.transform(
        np.asarray(polygons, dtype=object),
        lambda xy: np.column_stack(transform_xy(xy[:, 0], xy[:, 1], crs, WGS84)),
    )


def write_geojson(
    path: str | Path,
    rows: list[dict[str, Any]],
    polygons_wgs84: np.ndarray,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write result rows as a GeoJSON FeatureCollection of EPSG:4326 polygons."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    feats = [
        {"type": "Feature", "id": row["id"], "properties": row, "geometry": mapping(geom)}
        for row, geom in zip(rows, polygons_wgs84, strict=True)
    ]
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
    if meta:
        doc["geomon"] = meta
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
