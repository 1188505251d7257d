"""Read case files (CSV, GeoJSON, GeoPackage, XLSX) into raw dicts numbered by line/feature.

CSV is read as UTF-8; a file that is not UTF-8 but decodes as cp1251 (common in the region)
is read as cp1251 and said so; anything else is refused. A CSV file is streamed (one pass to
check the encoding, one to read), so its size is bounded by the disk, not memory. Other
formats go through pyogrio/GDAL, with the point geometry as ``lon``/``lat``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from geomon.errors import InvalidRequest

BAD = "__bad_row__"  # key of a row that could not be read at all; its value is the reason
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# Latin-1/cp1252 bytes read as cp1251 put "Cyrillic" letters inside Latin words (Größe → Grцяe)
_MIXED = re.compile("[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]")


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
    if _CYRILLIC.search(text) is None or _MIXED.search(text) is not None:
        raise InvalidRequest("the file is not UTF-8 (nor Cyrillic cp1251); save it as UTF-8")
    return text, "cp1251"


def read_csv(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    text, _ = decode(data)
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}


def file_encoding(path: Path, chunk: int = 1 << 20) -> str:
    """``utf-8-sig`` or ``cp1251`` for a CSV file (the rules of :func:`decode`), streamed."""

    def decodes(encoding: str) -> tuple[bool, bool, bool]:
        dec = codecs.getincrementaldecoder(encoding)()
        cyrillic = mixed = False
        try:
            with path.open("rb") as fh:
                while block := fh.read(chunk):
                    text = dec.decode(block)
                    if encoding == "cp1251":
                        cyrillic = cyrillic or _CYRILLIC.search(text) is not None
                        mixed = mixed or _MIXED.search(text) is not None
                dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, cyrillic, mixed
        return True, cyrillic, mixed

    if decodes("utf-8")[0]:
        return "utf-8-sig"
    ok, cyrillic, mixed = decodes("cp1251")
    if not ok:
        raise InvalidRequest("the file is neither UTF-8 nor cp1251; save it as UTF-8")
    if not cyrillic or mixed:
        raise InvalidRequest("the file is not UTF-8 (nor Cyrillic cp1251); save it as UTF-8")
    return "cp1251"


def stream_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) of a CSV file of any size, in the encoding :func:`file_encoding` found."""
    encoding = file_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        width = len(header)
        for row in reader:
            if not row:
                continue
            if len(row) != width:  # a bad row like any other, not the end of the import
                yield reader.line_num, {BAD: f"{len(row)} fields, the header has {width}"}
            else:
                yield reader.line_num, dict(zip(header, row, strict=True))


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
        return stream_csv(path)
    return read_ogr(path)
