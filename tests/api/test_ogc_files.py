"""OGC items as files (f=csv|gpkg|kml|fgb), queryables and the declared limit, checked with
GDAL's own command-line tools (Debian gdal-bin: ogrinfo, ogr2ogr), not with the library that
wrote them, and with GDAL's OAPIF driver paging a real server on a loopback socket."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from geomon.settings import DbSettings, Settings
from tests.api.seed import N_INCIDENTS, Seed, auth_headers
from tests.conftest import free_port
from tests.helpers.auth import make_user

VISIBLE = {i for i in range(N_INCIDENTS) if i % 5}  # KGZ-BS's seeded incidents (quantity i)
ITEMS = "/ogc/collections/incidents/items"


def _ogr_csv(path: Path, *extra: str) -> list[dict[str, str]]:
    """Every feature of ``path`` as read by the ogr2ogr binary (CSV on stdout)."""
    out = subprocess.run(
        ["ogr2ogr", "-f", "CSV", "/vsistdout/", str(path), *extra],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return list(csv.DictReader(io.StringIO(out)))


def _download(client: TestClient, tmp_path: Path, fmt: str, **params: str) -> Path:
    r = client.get(ITEMS, params={"f": fmt, **params})
    assert r.status_code == 200, r.text
    path = tmp_path / f"incidents.{fmt}"
    path.write_bytes(r.content)
    return path


@pytest.mark.parametrize(
    "fmt,media",
    [
        ("gpkg", "application/geopackage+sqlite3"),
        ("fgb", "application/flatgeobuf"),
        ("kml", "application/vnd.google-earth.kml+xml"),
        ("csv", "text/csv"),
    ],
)
def test_every_format_opens_in_ogr(
    client: TestClient, seed: Seed, tmp_path: Path, fmt: str, media: str
) -> None:
    r = client.get(ITEMS, params={"f": fmt})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert f'filename="incidents.{fmt}"' in r.headers["content-disposition"]
    assert r.headers["ogc-numberreturned"] == str(len(VISIBLE))
    path = tmp_path / f"incidents.{fmt}"
    path.write_bytes(r.content)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, timeout=60
    )
    assert info.returncode == 0, info.stderr
    assert f"Feature Count: {len(VISIBLE)}" in info.stdout
    rows = _ogr_csv(path)
    # no limit: the whole visible collection, not a page of 10; the other agency's rows absent
    assert {int(float(r["quantity"])) for r in rows} == VISIBLE
    assert {r["agency"] for r in rows} == {"KGZ-BS"}
    if fmt in ("gpkg", "fgb"):  # typed fields; the point is where the seed put it
        assert "occurred_at: DateTime" in info.stdout and "quantity: Real" in info.stdout
        one = _ogr_csv(path, "-where", "quantity = 6", "-lco", "GEOMETRY=AS_XY")
        assert len(one) == 1
        assert float(one[0]["X"]) == pytest.approx(71.2) and float(one[0]["Y"]) == 39.2
    else:  # text times in ISO 8601 UTC
        assert all(r["occurred_at"].endswith("Z") and "T" in r["occurred_at"] for r in rows)


def test_files_follow_filters_limit_and_cursor(
    client: TestClient, seed: Seed, tmp_path: Path
) -> None:
    # the same bbox/datetime filters as the GeoJSON pages
    params = {"bbox": "70.5,38.5,72.1,40", "datetime": "2026-11-21T00:00:00Z/.."}
    page = client.get(ITEMS, params={**params, "limit": 100}).json()
    expected = {int(f["properties"]["quantity"]) for f in page["features"]}
    assert 0 < len(expected) < len(VISIBLE)
    rows = _ogr_csv(_download(client, tmp_path, "fgb", **params))
    assert {int(float(r["quantity"])) for r in rows} == expected
    # a limit caps the file; a cursor continues where the page ended
    first = client.get(ITEMS, params={"limit": 5}).json()
    cursor = next(lk["href"] for lk in first["links"] if lk["rel"] == "next").split("cursor=")[1]
    cursor = cursor.split("&")[0]
    rows = _ogr_csv(_download(client, tmp_path, "gpkg", limit="5", cursor=cursor))
    second = client.get(ITEMS, params={"limit": 5, "cursor": cursor}).json()
    assert [int(float(r["quantity"])) for r in rows] == [
        int(f["properties"]["quantity"]) for f in second["features"]
    ]


def test_csv_two_agencies_see_their_own_rows(client: TestClient, db_url: str, seed: Seed) -> None:
    seen = {}
    for agency in ("KGZ-BS", "TJK-BS"):
        r = client.get(ITEMS, params={"f": "csv"}, headers=auth_headers(db_url, agency=agency))
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert {row["agency"] for row in rows} == {agency}
        seen[agency] = {int(float(row["quantity"])) for row in rows}
        assert all(row["WKT"].startswith("POINT (") for row in rows)
    assert seen["KGZ-BS"] == VISIBLE
    assert seen["TJK-BS"] == set(range(N_INCIDENTS)) - VISIBLE


def test_collection_advertises_formats_and_queryables(client: TestClient, seed: Seed) -> None:
    doc = client.get("/ogc/collections/incidents").json()
    items = {lk["type"]: lk["href"] for lk in doc["links"] if lk["rel"] == "items"}
    for media, f in (
        ("text/csv", "csv"),
        ("application/geopackage+sqlite3", "gpkg"),
        ("application/vnd.google-earth.kml+xml", "kml"),
        ("application/flatgeobuf", "fgb"),
    ):
        assert items[media].endswith(f"/items?f={f}")
        assert client.get(items[media]).headers["content-type"].startswith(media)
    q = next(lk for lk in doc["links"] if lk["rel"].endswith("/queryables"))
    r = client.get(q["href"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/schema+json"
    schema = r.json()
    assert schema["type"] == "object" and schema["$id"] == q["href"]
    props = schema["properties"]
    assert props["geometry"]["format"] == "geometry-point"
    assert props["datetime"]["format"] == "date-time"
    assert props["category"]["type"] == "string" and props["agency"]["type"] == "string"
    assert "quantity" not in props  # a float: not filterable by equality
    # a queryable filters (GeoJSON and files alike); an unknown name is still a 400
    body = client.get(ITEMS, params={"agency": "KGZ-BS", "limit": 100}).json()
    assert body["numberMatched"] == len(VISIBLE)
    assert client.get(ITEMS, params={"agency": "TJK-BS"}).json()["numberMatched"] == 0
    r = client.get(ITEMS, params={"f": "csv", "category": "nothing"})
    assert r.status_code == 200 and r.text.strip().count("\n") == 0  # header only
    r = client.get(ITEMS, params={"quantity": "3"})
    assert r.status_code == 400 and "quantity" in r.json()["detail"]
    assert client.get("/ogc/collections/nope/queryables").status_code == 404


def test_openapi_declares_limit_default_and_maximum(client: TestClient) -> None:
    api = client.get("/openapi.json").json()
    params = api["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")["schema"]
    # a plain integer schema: GDAL's OAPIF driver reads maximum/default from it (no anyOf)
    assert limit["type"] == "integer" and limit["default"] == 10
    assert limit["minimum"] == 1 and limit["maximum"] == 10_000
    assert client.get(ITEMS, params={"limit": 0}).status_code == 400


@pytest.fixture(scope="module")
def live(db_url: str, seed: Seed) -> Iterator[tuple[str, list[str]]]:
    """The app on a real loopback socket (uvicorn in a thread), recording every request."""
    app = create_app(Settings(db=DbSettings(url=db_url)))
    seen: list[str] = []

    async def recorder(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            seen.append(scope["path"] + "?" + scope["query_string"].decode())
        await app(scope, receive, send)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield base, seen
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _userpwd(db_url: str) -> str:
    """HTTP Basic for GDAL: a KGZ-BS viewer's name and an API token as the password."""
    name, _, token = make_user(db_url, role="viewer", agency="KGZ-BS")
    return f"{name}:{token}"


def _ogrinfo_oapif(base: str, db_url: str, *oo: str) -> str:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", "-oo", f"USERPWD={_userpwd(db_url)}", *oo]
        + [f"OAPIF:{base}/ogc", "incidents"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


_PYOGRIO_OAPIF = """
import sys, pyogrio
frame = pyogrio.read_dataframe(
    "OAPIF:" + sys.argv[1], layer="incidents", USERPWD=sys.argv[2]
)
print(len(frame), pyogrio.__gdal_version_string__)
"""


def test_gdal_oapif_pages_with_the_declared_limit(live: tuple[str, list[str]], db_url: str) -> None:
    """GDAL >= 3.8 takes its page size from the limit's maximum in our OpenAPI document (3.6,
    Debian's ogrinfo, always asks for 10): the GDAL inside pyogrio's wheel, in a child."""
    base, seen = live
    seen.clear()
    out = subprocess.run(
        [sys.executable, "-c", _PYOGRIO_OAPIF, f"{base}/ogc", _userpwd(db_url)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[0]) == len(VISIBLE)
    limits = [
        int(u.split("limit=")[1].split("&")[0])
        for u in seen
        if u.startswith("/ogc/collections/incidents/items") and "limit=" in u
    ]
    assert limits and min(limits) > 10, seen  # not GDAL's fallback of 10 a page


def test_ogrinfo_oapif_follows_next_links(live: tuple[str, list[str]], db_url: str) -> None:
    base, seen = live
    seen.clear()
    out = _ogrinfo_oapif(base, db_url, "-oo", "PAGE_SIZE=7")
    assert out.count("OGRFeature(incidents)") == len(VISIBLE)
    pages = [u for u in seen if u.startswith("/ogc/collections/incidents/items")]
    assert sum("cursor=" in u for u in pages) >= 2, seen


def test_cases_collection_is_audited_and_visible_per_agency(
    client: TestClient, db_url: str
) -> None:
    import psycopg

    with psycopg.connect(db_url) as conn:
        for agency, lon in (("KGZ-BS", 74.1), ("TJK-BS", 69.1)):
            conn.execute(
                "INSERT INTO cases (agency_id, source, external_id, category, occurred_at, geom, "
                "updated_by) SELECT id, 'ogc-files', %s, 'detention', now(), "
                "ST_SetSRID(ST_MakePoint(%s, 40), 4326), 'test' FROM agencies WHERE code = %s",
                (f"of-{agency}", lon, agency),
            )
        before = conn.execute(
            "SELECT count(*) FROM audit_log WHERE path = '/ogc/collections/cases/items'"
        ).fetchone()[0]
    r = client.get("/ogc/collections/cases/items", params={"f": "csv", "source": "ogc-files"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["external_id"], row["agency"]) for row in rows] == [("of-KGZ-BS", "KGZ-BS")]
    with psycopg.connect(db_url) as conn:
        after = conn.execute(
            "SELECT count(*) FROM audit_log WHERE path = '/ogc/collections/cases/items'"
        ).fetchone()[0]
    assert after == before + 1
