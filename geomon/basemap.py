"""The offline basemap's context features: Natural Earth 1:10m towns, lakes, rivers and peaks
(data/reference, see its README) with a Russian name and the zoom from which each one shows.

Pure: reads files, returns records; geomon.store.basemap loads them into ``basemap_features``
and derives land, country outlines, the Caspian and label points from the reference countries.

Zooms are Leaflet display zooms. Natural Earth's ``scalerank`` (0 = most important) decides
when a feature appears; the renderer's label collision then thins what still overlaps.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NE_CONTEXT_SOURCE = "Natural Earth 1:10m (public domain), via data/reference"
CONTEXT_FILES = {
    "place": "places_ne10m.geojson",
    "water": "lakes_ne10m.geojson",
    "river": "rivers_ne10m.geojson",
    "peak": "peaks_ne10m.geojson",
}
NAMES_FILE = "basemap_names.csv"


@dataclass(frozen=True, slots=True)
class ContextFeature:
    """One row of ``basemap_features`` read from a context file."""

    layer: str  # place, water, river, peak
    name: str  # English (or the data's own) name; '' when the data has none
    name_ru: str | None
    kind: str
    rank: float
    minzoom: int
    value: float | None  # population of a town, elevation of a peak
    geometry: dict[str, Any]  # GeoJSON, EPSG:4326


def place_minzoom(scalerank: float, kind: str) -> int:
    """Capitals from zoom 3; other towns from 4 (scalerank ≤ 3) to 9 (scalerank ≥ 9)."""
    if kind == "Admin-0 capital":
        return 3
    return 4 if scalerank <= 3 else 5 if scalerank <= 5 else int(min(9, scalerank))


def river_minzoom(scalerank: float) -> int:
    """Great rivers (Amu Darya, Panj, Syr Darya: scalerank 5) from zoom 4, small ones from 7."""
    return 3 if scalerank <= 3 else 4 if scalerank <= 5 else 6 if scalerank <= 7 else 7


def lake_minzoom(scalerank: float) -> int:
    """The Aral Sea and Balkhash from zoom 3, reservoirs and steppe lakes from 6 to 8."""
    return 3 if scalerank <= 2 else 5 if scalerank <= 5 else 6 if scalerank <= 7 else 8


def peak_minzoom(scalerank: float) -> int:
    return 6 if scalerank <= 4 else 7 if scalerank <= 7 else 8


def _minzoom(layer: str, rank: float, kind: str) -> int:
    if layer == "place":
        return place_minzoom(rank, kind)
    if layer == "water":
        return lake_minzoom(rank)
    return river_minzoom(rank) if layer == "river" else peak_minzoom(rank)


def read_names(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(layer, key) → (English name, Russian name) from basemap_names.csv."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {
            (row["layer"], row["key"]): (row["name_en"].strip(), row["name_ru"].strip())
            for row in csv.DictReader(fh)
        }


def _features(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["features"])


def _named(
    layer: str, props: dict[str, Any], names: dict[tuple[str, str], tuple[str, str]]
) -> tuple[str, str | None]:
    raw = (props.get("name") or "").strip()
    en, ru = names.get((layer, raw), ("", ""))
    name = en or (props.get("name_en") or raw or "").strip()
    return " ".join(name.split()), (props.get("name_ru") or ru or None)


def read_context(folder: Path) -> Iterator[ContextFeature]:
    """Every context feature of the four Natural Earth files in ``folder``."""
    names = read_names(folder / NAMES_FILE)
    for layer, file in CONTEXT_FILES.items():
        for f in _features(folder / file):
            p = f["properties"]
            rank = float(p.get("scalerank") if p.get("scalerank") is not None else 10)
            kind = str(p.get("class") or "")
            minzoom = _minzoom(layer, rank, kind)
            value = p.get("pop_max") if layer == "place" else p.get("elevation_m")
            name, name_ru = _named("lake" if layer == "water" else layer, p, names)
            yield ContextFeature(
                layer=layer,
                name=name,
                name_ru=name_ru,
                kind=kind,
                rank=rank,
                minzoom=minzoom,
                value=float(value) if value is not None else None,
                geometry=f["geometry"],
            )
