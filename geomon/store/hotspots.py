"""Stored hotspot runs: ``hotspot_runs`` rows, their ``hotspot_cells`` and KDE ``surfaces``.

Cells are written with one binary COPY into a temporary stage and one ``INSERT … SELECT``
(PostgreSQL refuses ``COPY FROM`` into tables under row-level security, and every agency table
here is under it, even for the owner). Geometries arrive as EWKB (EPSG:4326) built by shapely
in one vectorised call. NaN statistics are stored as NULL (JSON has no NaN).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb

from geomon.errors import NotFound
from geomon.store.surfaces import insert_surface

log = logging.getLogger(__name__)

RUN_COLS = (
    "id",
    "kind",
    "status",
    "params",
    "input_filter",
    "crs",
    "n_points",
    "n_cells",
    "duration_s",
    "created_by",
    "agency_id",
    "surface_path",
    "error",
    "created_at",
)
#: Cell columns after (cell_id, geom), with their COPY types.
CELL_COLS: tuple[tuple[str, str], ...] = (
    ("value", "float8"),
    ("z", "float8"),
    ("p", "float8"),
    ("gi_bin", "int2"),
    ("gi_bin_fdr", "int2"),
    ("p_sim", "float8"),
    ("trend_z", "float8"),
    ("trend_p", "float8"),
    ("category", "text"),
)
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS hotspot_cells_stage (cell_id int4, geom bytea, "
    + ", ".join(f"{c} {t}" for c, t in CELL_COLS)
    + ") ON COMMIT DELETE ROWS"
)


def create_run(
    conn: psycopg.Connection,
    *,
    kind: str,
    params: dict[str, Any],
    input_filter: dict[str, Any],
    crs: str = "",
    status: str = "running",
    created_by: str = "",
    agency_id: int | None = None,
) -> int:
    """Insert a run row (status running/queued) and return its id."""
    row = conn.execute(
        "INSERT INTO hotspot_runs (kind, status, params, input_filter, crs, created_by, "
        "agency_id) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (kind, status, Jsonb(params), Jsonb(input_filter), crs, created_by, agency_id),
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_run(
    conn: psycopg.Connection,
    run_id: int,
    *,
    params: dict[str, Any],
    input_filter: dict[str, Any],
    crs: str,
    n_points: int,
    n_cells: int,
    duration_s: float,
    surface_path: str | None = None,
) -> None:
    """Mark a run done with what it measured (params gain the values chosen from the data)."""
    conn.execute(
        "UPDATE hotspot_runs SET status = 'done', params = %s, input_filter = %s, crs = %s, "
        "n_points = %s, n_cells = %s, duration_s = %s, surface_path = %s, error = NULL "
        "WHERE id = %s",
        (
            Jsonb(params),
            Jsonb(input_filter),
            crs,
            n_points,
            n_cells,
            duration_s,
            surface_path,
            run_id,
        ),
    )


def fail_run(conn: psycopg.Connection, run_id: int, error: str) -> None:
    conn.execute(
        "UPDATE hotspot_runs SET status = 'failed', error = %s WHERE id = %s",
        (error[:2000], run_id),
    )


def set_status(conn: psycopg.Connection, run_id: int, status: str) -> None:
    conn.execute("UPDATE hotspot_runs SET status = %s WHERE id = %s", (status, run_id))


def _nullable(a: np.ndarray | Sequence[Any] | None, n: int) -> list[Any]:
    if a is None:
        return [None] * n
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        return [None if v != v else v for v in arr.tolist()]  # NaN -> NULL
    return cast(list[Any], arr.tolist())


def save_cells(
    conn: psycopg.Connection,
    run_id: int,
    cell_ids: np.ndarray,
    geoms_wgs84: np.ndarray,
    columns: dict[str, Any],
) -> int:
    """Write a run's cells (geometries in EPSG:4326; ``columns`` keyed by CELL_COLS names)."""
    unknown = set(columns) - {c for c, _ in CELL_COLS}
    if unknown:
        raise ValueError(f"unknown cell columns {sorted(unknown)}")
    n = len(cell_ids)
    ids = np.asarray(cell_ids, dtype=np.int64)
    if n and (ids.min() < 0 or ids.max() >= 2**31):
        raise ValueError("cell ids must fit in int4")
    wkb = shapely.to_wkb(
        shapely.set_srid(np.asarray(geoms_wgs84, dtype=object), 4326), include_srid=True
    )
    cols = [_nullable(columns.get(c), n) for c, _ in CELL_COLS]
    conn.execute(_STAGE)
    with conn.cursor() as cur:
        with cur.copy("COPY hotspot_cells_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "bytea"] + [t for _, t in CELL_COLS])
            for row in zip(ids.tolist(), wkb.tolist(), *cols, strict=True):
                copy.write_row(row)
        names = ", ".join(c for c, _ in CELL_COLS)
        cur.execute(
            f"INSERT INTO hotspot_cells (run_id, cell_id, geom, {names}) "
            f"SELECT %s, cell_id, ST_GeomFromEWKB(geom), {names} "
            "FROM hotspot_cells_stage",
            (run_id,),
        )
        written = cur.rowcount
        cur.execute("TRUNCATE hotspot_cells_stage")
    log.debug("run %d: %d cells written", run_id, written)
    return int(written)


def save_surface(
    conn: psycopg.Connection,
    *,
    kind: str,
    name: str,
    path: str,
    crs: str,
    units: str,
    params: dict[str, Any],
    bounds_wgs84: shapely.Geometry,
    agency_id: int | None,
    created_by: str,
) -> int:
    """The ``surfaces`` row of a KDE run's GeoTIFF (the file is already written)."""
    return insert_surface(
        conn,
        kind=kind,
        name=name,
        path=path,
        crs=crs,
        units=units,
        params=params,
        bounds_wgs84=bounds_wgs84,
        agency_id=agency_id,
        created_by=created_by,
    )


def _run_row(row: Sequence[Any] | None, run_id: int) -> dict[str, Any]:
    if row is None:
        raise NotFound(f"no hotspot run {run_id}")
    return dict(zip(RUN_COLS, row, strict=True))


def get_run(conn: psycopg.Connection, run_id: int) -> dict[str, Any]:
    cur = conn.execute(f"SELECT {', '.join(RUN_COLS)} FROM hotspot_runs WHERE id = %s", (run_id,))
    return _run_row(cur.fetchone(), run_id)


def list_runs(
    conn: psycopg.Connection, *, limit: int = 100, kind: str | None = None
) -> list[dict[str, Any]]:
    """Newest runs first."""
    cur = conn.execute(
        f"SELECT {', '.join(RUN_COLS)} FROM hotspot_runs WHERE (%s::text IS NULL OR kind = %s) "
        "ORDER BY id DESC LIMIT %s",
        (kind, kind, limit),
    )
    return [dict(zip(RUN_COLS, r, strict=True)) for r in cur.fetchall()]


def cell_summary(conn: psycopg.Connection, run_id: int) -> dict[str, Any]:
    """Counts per Gi_Bin (or category) of a run, for ``show``."""
    bins = conn.execute(
        "SELECT gi_bin, count(*) FROM hotspot_cells WHERE run_id = %s AND "
        "gi_bin IS NOT NULL GROUP BY 1 ORDER BY 1",
        (run_id,),
    ).fetchall()
    cats = conn.execute(
        "SELECT category, count(*) FROM hotspot_cells WHERE run_id = %s AND "
        "category IS NOT NULL GROUP BY 1 ORDER BY 2 DESC",
        (run_id,),
    ).fetchall()
    return {"gi_bin": {int(b): int(n) for b, n in bins}, "category": {c: int(n) for c, n in cats}}


def read_cells(conn: psycopg.Connection, run_id: int) -> dict[str, np.ndarray]:
    """A run's cell columns as arrays ordered by cell_id (tests, comparisons)."""
    cols = ["cell_id"] + [c for c, _ in CELL_COLS]
    rows = conn.execute(
        f"SELECT {', '.join(cols)} FROM hotspot_cells WHERE run_id = %s ORDER BY cell_id", (run_id,)
    ).fetchall()
    out = {}
    for i, c in enumerate(cols):
        vals = [r[i] for r in rows]
        out[c] = np.array(vals, dtype=object if c == "category" else float)
    return out


def delete_run(conn: psycopg.Connection, run_id: int) -> str | None:
    """Delete a run (cells cascade) and its KDE surface row; returns the GeoTIFF path to remove
    after commit, if any. NotFound when the run does not exist or is not the caller's."""
    row = conn.execute(
        "DELETE FROM hotspot_runs WHERE id = %s RETURNING surface_path", (run_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no hotspot run {run_id} (or not yours to delete)")
    if row[0]:
        conn.execute("DELETE FROM surfaces WHERE path = %s AND kind = 'kde'", (row[0],))
    return cast(str | None, row[0])


def set_caller_context(
    conn: psycopg.Connection,
    *,
    agency_id: int | None,
    role: str,
    user: str,
    statement_timeout_ms: int = 600_000,
) -> None:
    """The API caller's row-level-security context for this transaction (as api/deps.py sets
    it per request), for runs computed by a background worker on the caller's behalf."""
    conn.execute(
        "SELECT set_config('geomon.system', 'off', true), "
        "set_config('geomon.agency_id', %s, true), set_config('geomon.role', %s, true), "
        "set_config('geomon.user', %s, true), set_config('statement_timeout', %s, true)",
        ("" if agency_id is None else str(agency_id), role, user, str(statement_timeout_ms)),
    )


# --- async variants for the API (connections come from api/deps.py under RLS) ---


async def create_run_async(
    conn: psycopg.AsyncConnection,
    *,
    kind: str,
    params: dict[str, Any],
    input_filter: dict[str, Any],
    created_by: str,
    agency_id: int | None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO hotspot_runs (kind, status, params, input_filter, crs, created_by, "
        "agency_id) VALUES (%s, 'queued', %s, %s, '', %s, %s) RETURNING id",
        (kind, Jsonb(params), Jsonb(input_filter), created_by, agency_id),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def get_run_async(conn: psycopg.AsyncConnection, run_id: int) -> dict[str, Any]:
    cur = await conn.execute(
        f"SELECT {', '.join(RUN_COLS)} FROM hotspot_runs WHERE id = %s", (run_id,)
    )
    return _run_row(await cur.fetchone(), run_id)


async def list_runs_async(
    conn: psycopg.AsyncConnection, *, limit: int, kind: str | None, before: int | None
) -> list[dict[str, Any]]:
    """Newest first; ``before`` is a keyset cursor (ids below it)."""
    cur = await conn.execute(
        f"SELECT {', '.join(RUN_COLS)} FROM hotspot_runs WHERE (%s::text IS NULL OR kind = %s) "
        "AND (%s::int IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        (kind, kind, before, before, limit),
    )
    return [dict(zip(RUN_COLS, r, strict=True)) for r in await cur.fetchall()]


async def delete_run_async(conn: psycopg.AsyncConnection, run_id: int) -> str | None:
    """As :func:`delete_run`; row-level security lets only the owner agency's writers delete."""
    cur = await conn.execute(
        "DELETE FROM hotspot_runs WHERE id = %s RETURNING surface_path", (run_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no hotspot run {run_id} (or not yours to delete)")
    if row[0]:
        await conn.execute("DELETE FROM surfaces WHERE path = %s AND kind = 'kde'", (row[0],))
    return cast(str | None, row[0])
