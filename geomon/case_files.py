"""Read case files (CSV, GeoJSON, GeoPackage, XLSX) into raw dicts numbered by line/feature.

CSV is read as UTF-8; a file that is not UTF-8 but decodes as cp1251 (common in the region)
is read as cp1251 and said so; anything else is refused. Other formats go through
pyogrio/GDAL, with the point geometry as ``lon``/``lat``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from geomon.errors import InvalidRequest


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a CSV file: UTF-8 (with or without BOM), else cp1251, else refused."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        raise InvalidRequest("the file is neither UTF-8 nor cp1251; save it as UTF-8") from None
    if not any("\u0400" <= ch <= "\u04ff" for ch in text):
        raise InvalidRequest("the file is not UTF-8; save it as UTF-8")
    return text, "cp1251"


def read_csv(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    text, _ = decode(data)
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}


def read_ogr(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyogrio  # GDAL: only for the formats that need it

    frame = pyogrio.read_dataframe(path)
    geoms = frame.geometry if "geometry" in frame else None
    for i, record in enumerate(frame.drop(columns="geometry", errors="ignore").to_dict("records")):
        raw = {k: (None if v != v else v) for k, v in record.items()}  # NaN → None
        if geoms is not None and geoms.iloc[i] is not None:
            raw.setdefault("lon", geoms.iloc[i].x)
            raw.setdefault("lat", geoms.iloc[i].y)
        when = raw.get("occurred_at")
        if when is not None and hasattr(when, "isoformat"):
            raw["occurred_at"] = when.isoformat()
        yield i + 1, raw


def read_file(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or feature number, raw row) of each case in ``path``."""
    if path.suffix.lower() in (".csv", ".txt"):
        return read_csv(path.read_bytes())
    return read_ogr(path)
