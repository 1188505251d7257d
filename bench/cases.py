"""Case import and GeoPackage export at archive scale, against baselines in the same run.

    GEOMON_DB__URL=$(scripts/dev-db) .venv/bin/python bench/cases.py [--rows 500000]

Creates its own database on the server of GEOMON_DB__URL (dropped at the end), writes a CSV
of N synthetic cases (UNODC substances, kg/g/plants/tablets, times over 2024-2025, points in
the region), then times:

- **import**: ``geomon.case_import.import_file`` (stream, validate every row, COPY into
  staging, one upsert, a history row per created case) vs **plain COPY** of the same file
  (``COPY … FROM STDIN (FORMAT csv, HEADER)`` streamed from the client, as the import is) into
  a table of the file's shape (typed columns, primary key on external_id). Goal: COPY / import
  ≥ 0.5.
- **re-import** of the same file (nothing changes, nothing is written) vs the same COPY.
  Goal: re-import / COPY ≤ 1.5.
- **f=gpkg export**: ``GET /ogc/collections/cases/items?f=gpkg`` of every case from a real
  server (uvicorn on a loopback socket, a token of the owning agency, so row-level security
  applies) vs ``ogr2ogr -f GPKG`` from PostGIS of the same query (Debian gdal-bin). Goal:
  ours / ogr2ogr ≤ 1.5.

Prints each time and ratio, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomon.case_import import import_file  # noqa: E402
from geomon.credentials import USER_TOKEN_PREFIX, hash_password, new_token, token_digest  # noqa: E402
from geomon.store import databases, migrate  # noqa: E402
from geomon.store.devices import ensure_agency  # noqa: E402
from geomon.store.users import create_token, create_user  # noqa: E402

HEADER = (
    "external_id,category,substance,quantity,unit,occurred_at,lon,lat,concealment,"
    "transport_mode,origin_country,transit_countries,destination_country,seizing_unit,note"
)
PLAIN = """CREATE TABLE plain_copy (external_id text PRIMARY KEY, category text, substance text,
  quantity float8, unit text, occurred_at timestamptz, lon float8, lat float8, concealment text,
  transport_mode text, origin_country text, transit_countries text, destination_country text,
  seizing_unit text, note text)"""
MASS = ["heroin", "opium", "cannabis_resin", "cannabis_herb", "methamphetamine", "cocaine"]


def write_csv(path: Path, n: int) -> None:
    rnd = random.Random(18)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        for i in range(n):
            r = rnd.random()
            if r < 0.6:
                sub, qty, unit = rnd.choice(MASS), f"{rnd.uniform(0.01, 900):.3f}", "kg"
            elif r < 0.8:
                sub, qty, unit = rnd.choice(MASS), f"{rnd.uniform(1, 5000):.1f}", "g"
            elif r < 0.9:
                sub, qty, unit = "cannabis_plants", str(rnd.randint(1, 4000)), "plants"
            else:
                sub, qty, unit = "", "", ""
            cat = "drug_seizure" if sub else rnd.choice(["detention", "smuggled_goods"])
            when = (
                f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T"
                f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00+06:00"
            )
            fh.write(
                f"DMP-{i},{cat},{sub},{qty},{unit},{when},{66 + rnd.random() * 14:.6f},"
                f"{36.5 + rnd.random() * 7:.6f},,,AFG,TJK;UZB,KAZ,BLO {i % 40},\n"
            )


def plain_copy(url: str, path: Path) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS plain_copy")
        conn.execute(PLAIN)
        conn.commit()
        t = time.perf_counter()
        with (
            conn.cursor().copy("COPY plain_copy FROM STDIN (FORMAT csv, HEADER)") as copy,
            path.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - t


def timed_import(url: str, path: Path, agency: int) -> tuple[float, object]:
    with psycopg.connect(url) as conn:
        t = time.perf_counter()
        result = import_file(conn, path, agency_id=agency, source="bench", by="bench")
        return time.perf_counter() - t, result.outcome


def token_for(url: str, agency: str) -> str:
    token = new_token(USER_TOKEN_PREFIX)
    with psycopg.connect(url) as conn:
        create_user(
            conn, name="bench", password_hash=hash_password("x" * 20), role="analyst", agency=agency
        )
        create_token(
            conn, digest=token_digest(token), ttl=timedelta(days=1), user="bench", label="bench"
        )
    return token


def api_gpkg(url: str, token: str, out: Path) -> float:
    import uvicorn

    from api.app import create_app
    from geomon.settings import DbSettings, Settings

    app = create_app(Settings(db=DbSettings(url=url)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        t = time.perf_counter()
        with (
            httpx.stream(
                "GET",
                f"{base}/ogc/collections/cases/items?f=gpkg",
                headers=headers,
                timeout=600,
            ) as r,
            out.open("wb") as fh,
        ):
            r.raise_for_status()
            for chunk in r.iter_bytes(1 << 20):
                fh.write(chunk)
        return time.perf_counter() - t
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ogr2ogr_gpkg(url: str, out: Path) -> float:
    from geomon.store import features

    spec = features.STATIC["cases"]
    cols = ", ".join(("s.id", *(f"s.{p}" for p in spec.props)))
    query = f"SELECT {cols}, s.geom FROM ({spec.source}) s ORDER BY s.id"
    p = psycopg.conninfo.conninfo_to_dict(url)
    pg = " ".join(f"{k}={p[k]}" for k in ("host", "port", "dbname", "user", "password") if k in p)
    t = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"PG:{pg}", "-sql", query, "-nln", "cases"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t


def count(path: Path) -> str:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True
    )
    return next((x for x in out.stdout.splitlines() if x.startswith("Feature Count")), "?")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500_000)
    args = ap.parse_args()
    base = os.environ["GEOMON_DB__URL"]
    url = databases.create_database(base, "geomon_bench_cases")
    tmp = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    print(f"load average before: {os.getloadavg()}")
    try:
        migrate.upgrade(url)
        with psycopg.connect(url) as conn:
            agency = ensure_agency(conn, "KGZ-BS")
        csv_path = tmp / "cases.csv"
        write_csv(csv_path, args.rows)
        mb = csv_path.stat().st_size / 1e6
        print(f"{args.rows} cases, {mb:.0f} MB CSV")
        t_copy = plain_copy(url, csv_path)
        t_imp, outcome = timed_import(url, csv_path, agency)
        print(f"plain COPY        {t_copy:7.2f} s")
        print(f"import            {t_imp:7.2f} s  {outcome}")
        t_copy2 = plain_copy(url, csv_path)
        t_re, outcome = timed_import(url, csv_path, agency)
        print(f"plain COPY again  {t_copy2:7.2f} s")
        print(f"re-import         {t_re:7.2f} s  {outcome}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE plain_copy")
            conn.execute("VACUUM ANALYZE cases")
        token = token_for(url, "KGZ-BS")
        ours, theirs = tmp / "ours.gpkg", tmp / "ogr2ogr.gpkg"
        t_api = api_gpkg(url, token, ours)
        t_ogr = ogr2ogr_gpkg(url, theirs)
        print(
            f"f=gpkg (API)      {t_api:7.2f} s  {count(ours)}, {ours.stat().st_size / 1e6:.0f} MB"
        )
        size = theirs.stat().st_size / 1e6
        print(f"ogr2ogr PG→GPKG   {t_ogr:7.2f} s  {count(theirs)}, {size:.0f} MB")
        print(f"ratio COPY/import        {t_copy / t_imp:5.2f}  (goal >= 0.5)")
        print(f"ratio re-import/COPY     {t_re / t_copy2:5.2f}  (goal <= 1.5)")
        print(f"ratio f=gpkg/ogr2ogr     {t_api / t_ogr:5.2f}  (goal <= 1.5)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        databases.drop_database(base, url)
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
