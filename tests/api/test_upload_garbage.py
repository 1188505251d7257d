"""The file-upload routes (incident and watch-list imports) fed binary garbage, NUL bytes and
files in the wrong encoding (issue 14): every one is refused whole with a 4xx whose message
names the problem (encoding, NUL, the line), never a 500, and nothing is half-imported."""

from __future__ import annotations

import gzip
import random

import psycopg
import pytest
from fastapi.testclient import TestClient

INCIDENT_CSV = "category,occurred_at,lon,lat\nseizure,2026-11-01T08:00:00Z,74.6,42.8\n"
WATCH_CSV = "plate,reason,priority,list\n777GRB01,x,high,garbage\n"
ROUTES = {
    "incidents-csv": ("/api/v1/incidents/import", "text/csv", INCIDENT_CSV),
    "incidents-geojson": (
        "/api/v1/incidents/import",
        "application/geo+json",
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
        '{"type": "Point", "coordinates": [74.6, 42.8]}, "properties": {"category": '
        '"seizure", "occurred_at": "2026-11-01T08:00:00Z"}}]}',
    ),
    "watchlists-csv": ("/api/v1/watchlists/import", "text/csv", WATCH_CSV),
}
_rng = random.Random(14)
GARBAGE = {
    "random-bytes": bytes(_rng.randrange(256) for _ in range(4096)),
    "gzip": None,  # the route's own good file, gzipped (a client that forgot to say so)
    "utf16": None,  # the good file as Excel's "Unicode text" (UTF-16 with a BOM)
    "nul-in-a-cell": None,  # the good file with a NUL inside its second line
    "all-nul": b"\x00" * 512,
    "latin1": "category,occurred_at,lon,lat\nsaisie é,2026-11-01T08:00:00Z,74.6,42.8\n".encode(
        "latin-1"
    ),
    "empty": b"",
    # schemathesis' 500 on the watch-list import: a bare CR inside a field, control characters
    "bare-cr": "\x158\x89,>\x02\xb6\rdr\x0c\U000f434c\xfb".encode(),
    "huge-field": b"category,occurred_at,lon,lat\n" + b"x" * 200_000 + b",2026,1,2\n",
}
# what the message must say, by garbage
NAMED = {
    "random-bytes": ("utf-8", "nul"),
    "gzip": ("utf-8",),
    "utf16": ("utf-8", "nul"),
    "nul-in-a-cell": ("nul",),
    "all-nul": ("nul",),
    "latin1": ("utf-8",),
    "empty": ("empty", "no ", "header", "feature", "column", "json"),
    "bare-cr": ("header", "column", "json", "csv"),
    "huge-field": ("csv", "json", "line", "row"),
}


def _body(name: str, good: str) -> bytes:
    if name == "gzip":
        return gzip.compress(good.encode())
    if name == "utf16":
        return good.encode("utf-16")
    if name == "nul-in-a-cell":
        head, _, rest = good.partition("\n")
        return (head + "\n" + rest[:3] + "\x00" + rest[3:]).encode()
    data = GARBAGE[name]
    assert data is not None
    return data


def _counts(db_url: str) -> tuple[int, int]:
    with psycopg.connect(db_url) as conn:
        return (
            conn.execute("SELECT count(*) FROM incidents").fetchone()[0],
            conn.execute("SELECT count(*) FROM watchlist_entries").fetchone()[0],
        )


@pytest.mark.parametrize("garbage", list(GARBAGE))
@pytest.mark.parametrize("route", list(ROUTES))
def test_garbage_upload_is_a_named_4xx(
    client: TestClient, db_url: str, route: str, garbage: str
) -> None:
    path, ctype, good = ROUTES[route]
    before = _counts(db_url)
    r = client.post(path, content=_body(garbage, good), headers={"Content-Type": ctype})
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    detail = str(r.json().get("detail", "")).lower()
    assert any(word in detail for word in NAMED[garbage]), detail[:300]
    assert _counts(db_url) == before  # nothing half-imported


@pytest.mark.parametrize("route", list(ROUTES))
def test_the_good_files_still_import(client: TestClient, route: str) -> None:
    path, ctype, good = ROUTES[route]
    r = client.post(path, content=good.encode(), headers={"Content-Type": ctype})
    assert r.status_code == 201, r.text
