"""Write features to CSV, GeoPackage, KML or FlatGeobuf with GDAL (pyogrio), streamed.

Rows come in batches (from a server-side cursor) and go to GDAL as an Arrow stream, so a
collection of any size is written with one batch in memory. The fields are typed from their
PostgreSQL types; in CSV and KML, which have no time type GDAL writes in ISO form, times and
dates are ISO 8601 text (UTC, ``Z``) so the file reads back with ``geomon cases import``.
Geometry is the row's last value, WKB in EPSG:4326.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Format:
    driver: str
    media_type: str
    ext: str
    title: str
    text_times: bool = False
    layer_options: tuple[tuple[str, str], ...] = ()
    dataset_options: tuple[tuple[str, str], ...] = ()


FORMATS: dict[str, Format] = {
    "csv": Format("CSV", "text/csv", "csv", "CSV", True, (("GEOMETRY", "AS_WKT"),)),
    # 1.2: what GDAL 3.6 / QGIS 3.22 open without a warning
    "gpkg": Format(
        "GPKG",
        "application/geopackage+sqlite3",
        "gpkg",
        "GeoPackage",
        dataset_options=(("VERSION", "1.2"),),
    ),
    "kml": Format("KML", "application/vnd.google-earth.kml+xml", "kml", "KML", True),
    "fgb": Format("FlatGeobuf", "application/flatgeobuf", "fgb", "FlatGeobuf"),
}
_INT = {"int2", "int4", "int8", "oid"}
_FLOAT = {"float4", "float8", "numeric"}
_TEXT = {"text", "varchar", "bpchar", "name", "char"}


def _iso(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return v.isoformat() if isinstance(v, date) else str(v)


def _json(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, default=str, ensure_ascii=False)


def _column(pa: Any, pgtype: str, values: Sequence[Any], text_times: bool) -> Any:
    if pgtype in _INT:
        return pa.array(values, pa.int64())
    if pgtype in _FLOAT:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if pgtype == "bool":
        return pa.array(values, pa.bool_())
    if pgtype in _TEXT:
        return pa.array(values, pa.string())
    if pgtype in ("timestamptz", "timestamp", "date"):
        if text_times:
            return pa.array([_iso(v) for v in values], pa.string())
        if pgtype == "date":
            return pa.array(values, pa.date32())
        return pa.array(values, pa.timestamp("us", tz="UTC" if pgtype == "timestamptz" else None))
    return pa.array([_json(v) for v in values], pa.string())  # arrays, json, uuid…


def _arrow_type(pa: Any, pgtype: str, text_times: bool) -> Any:
    return _column(pa, pgtype, [], text_times).type


def write(
    path: Path,
    fmt: str,
    fields: Sequence[tuple[str, str]],
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    layer: str,
    geometry_type: str = "Unknown",
) -> int:
    """Write ``batches`` of rows (the ``fields`` values, then WKB) to ``path``; features written."""
    import pyarrow as pa
    from pyogrio.raw import write_arrow

    spec = FORMATS[fmt]
    names = [n for n, _ in fields]
    if "geometry" in names:
        raise ValueError("a field may not be called 'geometry'")
    schema = pa.schema(
        [pa.field(n, _arrow_type(pa, t, spec.text_times)) for n, t in fields]
        + [pa.field("geometry", pa.binary())]
    )
    written = 0

    def stream() -> Iterator[Any]:
        nonlocal written
        for rows in batches:
            if not rows:
                continue
            cols = list(zip(*rows, strict=True))
            arrays = [
                _column(pa, t, cols[i], spec.text_times) for i, (_, t) in enumerate(fields)
            ] + [pa.array(cols[-1], pa.binary())]
            written += len(rows)
            yield pa.record_batch(arrays, schema=schema)

    write_arrow(
        pa.RecordBatchReader.from_batches(schema, stream()),
        str(path),
        layer=layer,
        driver=spec.driver,
        geometry_name="geometry",
        geometry_type=geometry_type,
        crs="EPSG:4326",
        layer_options=dict(spec.layer_options) or None,
        dataset_options=dict(spec.dataset_options) or None,
    )
    return written
