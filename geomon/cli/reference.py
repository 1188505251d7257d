"""``geomon load-reference``: countries, borders and places into PostGIS."""

from __future__ import annotations

from pathlib import Path

import typer

from geomon.cli.common import db_url, fail, reported_errors, settings
from geomon.reference import read_features, read_places
from geomon.store.db import connect
from geomon.store.reference import reference_counts, upsert_borders, upsert_countries, upsert_places


def load_reference(
    folder: Path = typer.Option(
        None,
        "--dir",
        help="Folder with countries_ne10m.geojson, borders_ne10m.geojson and "
        "places_central_asia.csv (default: GEOMON_REFERENCE_DIR, data/reference).",
    ),
) -> None:
    """Load Central Asian country polygons, border lines and crossing points (idempotent)."""
    folder = folder or settings().reference_dir
    files = {
        n: folder / n
        for n in ("countries_ne10m.geojson", "borders_ne10m.geojson", "places_central_asia.csv")
    }
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        fail(f"reference files not found: {', '.join(missing)}")
    with reported_errors(), connect(db_url()) as conn:
        upsert_countries(conn, read_features(files["countries_ne10m.geojson"]))
        upsert_borders(conn, read_features(files["borders_ne10m.geojson"]))
        upsert_places(conn, read_places(files["places_central_asia.csv"]))
        counts = reference_counts(conn)
    typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
