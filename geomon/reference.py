"""Reading the reference geodata shipped in data/reference/ (see its README for provenance).

Countries and borders are Natural Earth 1:10m (public domain); places are crossing points,
dry ports and offices from public sources, each with an honest ``accuracy_m``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NE_SOURCE = "Natural Earth 1:10m admin-0 (public domain), via data/reference"
# The Natural Earth 1:10m lines' stated accuracy: places that sit on the real border (passes,
# bridges in places_central_asia.csv) are 0.2-1.9 km from them (Kulma pass 1.9 km). The
# border_cross tolerance defaults from it (docs/events.md).
NE_BORDER_ACCURACY_M = 2000.0


@dataclass(frozen=True, slots=True)
class PlaceRecord:
    name: str
    alt_names: list[str]
    kind: str
    countries: str
    lat: float
    lon: float
    accuracy_m: float | None
    source: str
    notes: str


def read_places(path: Path) -> list[PlaceRecord]:
    """Rows of places_central_asia.csv (alt_names are ';'-separated)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            PlaceRecord(
                name=row["name"].strip(),
                alt_names=[a.strip() for a in row["alt_names"].split(";") if a.strip()],
                kind=row["kind"].strip(),
                countries=row["countries"].strip(),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                accuracy_m=float(row["accuracy_m"]) if row["accuracy_m"] else None,
                source=row["source"].strip(),
                notes=row["notes"].strip(),
            )
            for row in csv.DictReader(fh)
        ]


def read_features(path: Path) -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data["features"])


# Places that mobile teams patrol around in the demo fleet.
PATROL_KINDS = ("road_bcp", "rail_bcp", "dry_port")


def patrol_sites(places: list[PlaceRecord]) -> list[PlaceRecord]:
    """The places a demo team may patrol, in file order (team i patrols site i mod n)."""
    return [p for p in places if p.kind in PATROL_KINDS]
