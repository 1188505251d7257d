"""End-to-end database path of bench/hotspots.py (``--db``): PostGIS read → Gi* → PostGIS write.

    GEOMON_DB__URL=$(scripts/dev-db url) .venv/bin/python bench/hotspots.py --db

Creates its own database on the server of GEOMON_DB__URL (dropped at the end), migrates it,
inserts the generated incidents (binary COPY into a stage, then one INSERT … SELECT: COPY FROM
is refused under row-level security), then times ``geomon.analysis.hotspots.run`` for Gi* on a
5 km hex grid with a 15 km band over the area's bbox, including the commit. Baselines in the
same run: the same read through ``fetchall`` of Python rows and through binary ``COPY TO``
(one message per row), the projection done by PostGIS (``ST_Transform``) instead of pyproj,
and the cell write through ``executemany`` INSERTs.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from geomon.analysis import hotspots as service
from geomon.analysis.hotspot_params import HotspotParams, InputFilter
from geomon.spatial.crs import transform_xy
from geomon.store import databases, migrate
from geomon.store import hotspot_inputs as inputs


def create_db(base: str) -> str:
    url = databases.create_database(base, "geomon_bench")
    migrate.upgrade(url)
    return url


drop_db = databases.drop_database


def insert_incidents(url: str, lon: np.ndarray, lat: np.ndarray, month: np.ndarray) -> None:
    with psycopg.connect(url) as c:
        agency = c.execute(
            "INSERT INTO agencies (code, name) VALUES ('BENCH', 'bench') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        c.execute("CREATE TEMP TABLE stage (lon float8, lat float8, m int4)")
        with c.cursor().copy("COPY stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["float8", "float8", "int4"])
            for row in zip(lon.tolist(), lat.tolist(), month.tolist(), strict=True):
                copy.write_row(row)
        c.execute(
            "INSERT INTO incidents (agency_id, category, occurred_at, geom, source) "
            "SELECT %s, 'seizure', timestamptz '2021-01-01' + m * interval '1 month', "
            "ST_SetSRID(ST_MakePoint(lon, lat), 4326), 'bench' FROM stage",
            (agency,),
        )
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE incidents")


def _timed(label: str, fn: Any, sink: dict[str, float]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    sink[label] = time.perf_counter() - t0
    print(f"  {label:<52s} {sink[label]:8.3f} s", flush=True)
    return out


def _arrays(c: psycopg.Connection, query: str) -> list[np.ndarray]:
    with c.cursor(binary=True) as cur:
        cur.adapters.register_loader(inputs.FLOAT8_ARRAY_OID, inputs._Float8ArrayBytes)
        row = cur.execute(query).fetchone()
    return [inputs.decode_float8_array(b) for b in row]  # type: ignore[union-attr]


def baselines(url: str, params: HotspotParams, crs: str, t: dict[str, float]) -> None:
    """Other ways to read the same points: Python rows, binary COPY rows, ST_Transform."""
    f = params.filter
    with psycopg.connect(url) as c:
        c.execute("SET jit = off")
        aoi = inputs.resolve_aoi(c, bbox=f.bbox)
        text, args, _ = inputs._query(inputs.PointFilter(until=f.until), aoi, None)
        q = psycopg.ClientCursor(c).mogrify(text, args)
        rows_q = q.replace(
            "array_agg(ST_X(t.geom)), array_agg(ST_Y(t.geom))", "ST_X(t.geom), ST_Y(t.geom)"
        )
        _timed(
            "baseline read: fetchall of Python rows",
            lambda: np.array(c.execute(rows_q).fetchall(), dtype=float),
            t,
        )

        def copy_rows() -> int:
            with c.cursor().copy(f"COPY ({rows_q}) TO STDOUT (FORMAT BINARY)") as copy:
                return len(b"".join(bytes(b) for b in copy))

        _timed("baseline read: binary COPY TO STDOUT (a message per row)", copy_rows, t)
        # A proj string per call rebuilds the transformation per row (minutes for 500k), and
        # spatial_ref_sys belongs to the superuser: compare both ways on an EPSG code instead.
        server = q.replace("ST_X(t.geom)", "ST_X(ST_Transform(t.geom, 32643))").replace(
            "ST_Y(t.geom)", "ST_Y(ST_Transform(t.geom, 32643))"
        )
        _timed("alternative read+project: ST_Transform(geom, 32643)", lambda: _arrays(c, server), t)

        def ours() -> None:
            lon, lat = _arrays(c, q)
            transform_xy(lon, lat, "EPSG:4326", "EPSG:32643")

        _timed("ours: float8[] read + pyproj to EPSG:32643", ours, t)


def write_baseline(url: str, run_id: int, t: dict[str, float]) -> None:
    """The same cells inserted row by row (executemany), rolled back."""
    with psycopg.connect(url) as c:
        rows = c.execute(
            "SELECT cell_id, ST_AsBinary(geom), value, z, p, gi_bin, gi_bin_fdr "
            "FROM hotspot_cells WHERE run_id = %s",
            (run_id,),
        ).fetchall()
        new = c.execute(
            "INSERT INTO hotspot_runs (kind, params, input_filter, crs) VALUES "
            "('gistar', '{}', '{}', '') RETURNING id"
        ).fetchone()[0]  # type: ignore
        _timed(
            "baseline write: executemany INSERT of the cells",
            lambda: c.cursor().executemany(
                "INSERT INTO hotspot_cells"
                " (run_id, cell_id, geom, value, z, p, gi_bin, gi_bin_fdr) "
                "VALUES (%s, %s, ST_GeomFromWKB(%s, 4326), %s, %s, %s, %s, %s)",
                [(new, *r) for r in rows],
            ),
            t,
        )
        c.rollback()


def run_db(lon: np.ndarray, lat: np.ndarray, month: np.ndarray, skip_baselines: bool) -> None:
    base = os.environ.get("GEOMON_DB__URL", "")
    if not base:
        raise SystemExit("--db needs GEOMON_DB__URL (try GEOMON_DB__URL=$(scripts/dev-db url))")
    t: dict[str, float] = {}
    url = _timed("create + migrate a fresh database", lambda: create_db(base), t)
    try:
        _timed(
            f"insert {len(lon)} incidents (COPY stage + INSERT)",
            lambda: insert_incidents(url, lon, lat, month),
            t,
        )
        _e2e(url, lon, lat, skip_baselines, t)
    finally:
        drop_db(base, url)


def _e2e(url: str, lon, lat, skip_baselines: bool, t: dict[str, float]) -> None:
    bbox = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    params = HotspotParams(
        kind="gistar",
        filter=InputFilter(bbox=bbox),
        grid="hex",
        cell_size=5000.0,
        distance_band=15000.0,
        fdr=True,
    )
    params = service.pinned(params)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with psycopg.connect(url) as c:
            out = service.run(c, params, data_dir=Path(tmp), created_by="bench")
            tc = time.perf_counter()
            c.commit()
            out.timings["commit"] = time.perf_counter() - tc
        total = time.perf_counter() - t0
    print(
        f"Gi* end to end through PostGIS: run {out.run_id}, {out.n_points} points, "
        f"{out.n_cells} cells, {out.summary}, CRS {out.crs}"
    )
    for k, v in out.timings.items():
        if k != "total":
            print(f"  {k:<52s} {v:8.3f} s")
    print(f"  {'TOTAL (connect → commit)':<52s} {total:8.3f} s   (goal ≤ 10 s)")
    t["e2e"] = total
    if skip_baselines:
        return
    transform_xy(lon[:10], lat[:10], "EPSG:4326", "EPSG:32643")  # warm the transformer
    baselines(url, params, out.crs, t)
    write_baseline(url, out.run_id, t)
    read = out.timings["read"]
    print(
        f"  fetchall rows / our float8[] read:                "
        f"{t['baseline read: fetchall of Python rows'] / read:6.1f}x"
    )
    print(
        f"  binary COPY rows / our float8[] read:             "
        f"{t['baseline read: binary COPY TO STDOUT (a message per row)'] / read:6.1f}x"
    )
    alt = t["alternative read+project: ST_Transform(geom, 32643)"]
    ours = t["ours: float8[] read + pyproj to EPSG:32643"]
    print(f"  ST_Transform in PostGIS / lon,lat read + pyproj:  {alt / ours:6.1f}x")
    write = out.timings["write"]
    print(
        f"  executemany INSERT / binary COPY stage write:     "
        f"{t['baseline write: executemany INSERT of the cells'] / write:6.1f}x"
    )
