"""Names of stored codes in reports (catalogue messages; unknown codes show as stored) and the
nearest named place of a point (the place's name in the reader's language where it has one)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from geomon.alerts.texts import EVENT_TITLES, SEVERITIES
from geomon.i18n import N_, Translate
from geomon.reports.motion import haversine_m

CATEGORIES = {
    "drug_seizure": N_("Drug seizure"),
    "precursor_seizure": N_("Precursor seizure"),
    "weapons": N_("Weapons"),
    "smuggled_goods": N_("Smuggled goods"),
    "irregular_crossing": N_("Irregular crossing"),
    "detention": N_("Detention"),
    "detection": N_("Detection"),
}
SUBSTANCES = {
    "heroin": N_("Heroin"),
    "opium": N_("Opium"),
    "morphine": N_("Morphine"),
    "cannabis_resin": N_("Cannabis resin (hashish)"),
    "cannabis_herb": N_("Cannabis herb"),
    "cannabis_plants": N_("Cannabis plants"),
    "cocaine": N_("Cocaine"),
    "methamphetamine": N_("Methamphetamine"),
    "amphetamine": N_("Amphetamine"),
    "ecstasy": N_('"Ecstasy"-type'),
    "nps": N_("New psychoactive substances"),
    "precursors": N_("Precursors"),
}
OBSERVATIONS = {
    "plate_read": N_("Plate reads"),
    "radiation_alarm": N_("Radiation alarms"),
    "vehicle_count": N_("Vehicles counted"),
    "intrusion": N_("Intrusion alarms"),
    "camera_detection": N_("Camera detections"),
}
_CYRILLIC = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")


def name_of(_: Translate, table: Mapping[str, str], code: str | None, none: str = "") -> str:
    if code is None:
        return none
    return _(table[code]) if code in table else code


def event_kind(_: Translate, kind: str) -> str:
    return name_of(_, EVENT_TITLES, kind)


def severity(_: Translate, code: str) -> str:
    return name_of(_, SEVERITIES, code)


def place_name(place: Mapping[str, Any], locale: str) -> str:
    """A Cyrillic alternative name for Russian readers (the data has these), else the name."""
    if locale == "ru":
        for alt in place.get("alt_names") or ():
            if _CYRILLIC.search(alt):
                return str(alt)
    return str(place["name"])


class Gazetteer:
    """Nearest place of points, from the places table (a few hundred rows: numpy suffices)."""

    def __init__(self, places: Sequence[Mapping[str, Any]], locale: str) -> None:
        self.names = [place_name(p, locale) for p in places]
        self.lon = np.array([p["lon"] for p in places], dtype=np.float64)
        self.lat = np.array([p["lat"] for p in places], dtype=np.float64)

    def nearest(self, lon: float, lat: float) -> tuple[str, float]:
        """(name, metres) of the nearest place; ("", nan) without places."""
        if self.lon.size == 0:
            return "", float("nan")
        d = haversine_m(np.full_like(self.lon, lon), np.full_like(self.lat, lat),
                        self.lon, self.lat)  # fmt: skip
        i = int(np.argmin(d))
        return self.names[i], float(d[i])
