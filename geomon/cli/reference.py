"""``geomon load-reference``: countries, borders, places and the basemap's context layers
(towns, lakes, rivers, peaks) into PostGIS."""

from __future__ import annotations

from pathlib import Path

import typer

from geomon.basemap import CONTEXT_FILES, NAMES_FILE, read_context, read_names
from geomon.cli.common import db_url, fail, reported_errors, settings
from geomon.reference import read_features, read_places
from geomon.store.basemap import basemap_counts, derive_from_countries, load_context
from geomon.store.db import connect
from geomon.store.reference import reference_counts, upsert_borders, upsert_countries, upsert_places


def load_reference(
    folder: Path = typer.Option(
        None,
        "--dir",
        help="Folder with countries_ne10m.geojson, borders_ne10m.geojson, "
        "places_central_asia.csv and the basemap's places/lakes/rivers/peaks_ne10m.geojson "
        "and basemap_names.csv (default: GEOMON_REFERENCE_DIR, data/reference).",
    ),
) -> None:
    """Load Central Asian country polygons, border lines, crossing points and the offline
    basemap's context layers (idempotent)."""
    folder = folder or settings().reference_dir
    files = {
        n: folder / n
        for n in (
            "countries_ne10m.geojson",
            "borders_ne10m.geojson",
            "places_central_asia.csv",
            NAMES_FILE,
            *CONTEXT_FILES.values(),
        )
    }
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        fail(f"reference files not found: {', '.join(missing)}")
    with reported_errors(), connect(db_url()) as conn:
        upsert_countries(conn, read_features(files["countries_ne10m.geojson"]))
        upsert_borders(conn, read_features(files["borders_ne10m.geojson"]))
        upsert_places(conn, read_places(files["places_central_asia.csv"]))
        load_context(conn, read_context(folder))
        derive_from_countries(conn, read_names(folder / NAMES_FILE))
        counts = reference_counts(conn) | {
            f"basemap {k}": v for k, v in basemap_counts(conn).items()
        }
    typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
