"""Write cases as GeoPackage, KML, CSV or FlatGeobuf through GDAL (pyogrio).

Times are written as UTC ISO 8601 text (KML and CSV have no time type worth relying on);
points are EPSG:4326. The file reads back with ``geomon cases import`` (same columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from geomon.store import cases as store

DRIVERS = {"gpkg": "GPKG", "kml": "KML", "csv": "CSV", "fgb": "FlatGeobuf"}


def write_cases(
    conn: psycopg.Connection, path: Path, fmt: str, agency_id: int | None = None
) -> int:
    """Write the visible live cases to ``path``; returns how many."""
    import geopandas as gpd  # heavy: only for exports

    if fmt not in DRIVERS:
        raise ValueError(f"unknown format {fmt!r}; accepted: {', '.join(DRIVERS)}")
    rows = store.export_rows(conn, agency_id)
    cols = list(store.EXPORT_COLUMNS)
    records: list[dict[str, Any]] = [dict(zip(cols, r, strict=True)) for r in rows]
    for r in records:
        r["occurred_at"] = r["occurred_at"].isoformat()
    frame = gpd.GeoDataFrame(
        records,
        columns=cols,
        geometry=gpd.points_from_xy([r["lon"] for r in records], [r["lat"] for r in records]),
        crs=4326,
    )
    options: dict[str, Any] = {}
    if fmt == "csv":
        options["layer_options"] = {"GEOMETRY": "AS_WKT"}
    frame.to_file(path, driver=DRIVERS[fmt], layer="cases", engine="pyogrio", **options)
    return len(records)
