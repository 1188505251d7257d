"""Stored near-repeat runs: ``near_repeat_runs`` with their Knox ``near_repeat_cells`` and
``near_repeat_chains`` (migration 0026).

Row-level security as for hotspot and forecast runs: a run belongs to an agency (share scope
``analysis``), its cells and chains follow the run. The incidents a run reads are read under the
caller's RLS like every other analysis input. NaN ratios become NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from geomon.errors import NotFound
from geomon.store.hotspot_inputs import agency_id as agency_id_of

RUN_COLS = (
    "id",
    "status",
    "params",
    "input_filter",
    "crs",
    "n_incidents",
    "n_close_pairs",
    "n_chains",
    "duration_s",
    "created_by",
    "agency_id",
    "error",
    "created_at",
)
CELL_COLS = (
    "space_band",
    "time_band",
    "space_lo_m",
    "space_hi_m",
    "time_lo_days",
    "time_hi_days",
    "observed",
    "expected",
    "ratio",
    "p_value",
)
_INSERT_RUN = (
    "INSERT INTO near_repeat_runs (status, params, input_filter, created_by, agency_id) "
    "VALUES (%s, %s, %s, %s, %s) RETURNING id"
)


@dataclass(frozen=True)
class Incidents:
    """Incident ids, positions (EPSG:4326) and times (epoch seconds), ordered by id."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    epoch_s: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def load_incidents(
    conn: psycopg.Connection,
    *,
    category: str | None,
    agency: str | None,
    since: datetime,
    until: datetime,
) -> Incidents:
    """Located incidents in [since, until) the caller may see, optionally of one category and
    one agency (by code)."""
    aid = agency_id_of(conn, agency) if agency else None
    rows = conn.execute(
        "SELECT coalesce(array_agg(id ORDER BY id), '{}'), "
        "coalesce(array_agg(ST_X(geom) ORDER BY id), '{}'), "
        "coalesce(array_agg(ST_Y(geom) ORDER BY id), '{}'), "
        "coalesce(array_agg(extract(epoch FROM occurred_at)::float8 ORDER BY id), '{}') "
        "FROM incidents WHERE geom IS NOT NULL AND occurred_at >= %s AND occurred_at < %s "
        "AND (%s::text IS NULL OR category = %s) AND (%s::int IS NULL OR agency_id = %s)",
        (since, until, category, category, aid, aid),
    ).fetchone()
    assert rows is not None
    return Incidents(
        np.asarray(rows[0], dtype=np.int64),
        np.asarray(rows[1], dtype=np.float64),
        np.asarray(rows[2], dtype=np.float64),
        np.asarray(rows[3], dtype=np.float64),
    )


def create_run(
    conn: psycopg.Connection,
    *,
    params: dict[str, Any],
    input_filter: dict[str, Any],
    status: str = "running",
    created_by: str = "",
    agency_id: int | None = None,
) -> int:
    row = conn.execute(
        _INSERT_RUN, (status, Jsonb(params), Jsonb(input_filter), created_by, agency_id)
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_run(
    conn: psycopg.Connection,
    run_id: int,
    *,
    crs: str,
    n_incidents: int,
    n_close_pairs: int,
    n_chains: int,
    duration_s: float,
) -> None:
    conn.execute(
        "UPDATE near_repeat_runs SET status = 'done', crs = %s, n_incidents = %s, "
        "n_close_pairs = %s, n_chains = %s, duration_s = %s, error = NULL WHERE id = %s",
        (crs, n_incidents, n_close_pairs, n_chains, duration_s, run_id),
    )


def fail_run(conn: psycopg.Connection, run_id: int, error: str) -> None:
    conn.execute(
        "UPDATE near_repeat_runs SET status = 'failed', error = %s WHERE id = %s",
        (error[:2000], run_id),
    )


def set_status(conn: psycopg.Connection, run_id: int, status: str) -> None:
    conn.execute("UPDATE near_repeat_runs SET status = %s WHERE id = %s", (status, run_id))


def _num(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return None if v != v else float(v)
    if isinstance(v, np.integer):
        return v.item()
    return v


def save_cells(conn: psycopg.Connection, run_id: int, rows: Sequence[dict[str, Any]]) -> int:
    names = ", ".join(CELL_COLS)
    marks = ", ".join(["%s"] * len(CELL_COLS))
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO near_repeat_cells (run_id, {names}) VALUES (%s, {marks})",
            [(run_id, *(_num(r[c]) for c in CELL_COLS)) for r in rows],
        )
    return len(rows)


def save_chains(conn: psycopg.Connection, run_id: int, chains: Sequence[dict[str, Any]]) -> int:
    """Chains: ``chain_id``, ``incident_ids``, ``first_at``, ``last_at`` and ``links`` as a list
    of ((lon, lat), (lon, lat)) segments."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO near_repeat_chains (run_id, chain_id, n_incidents, incident_ids, "
            "first_at, last_at, geom) VALUES (%s, %s, %s, %s, %s, %s, "
            "ST_SetSRID(ST_GeomFromText(%s), 4326))",
            [
                (
                    run_id,
                    c["chain_id"],
                    len(c["incident_ids"]),
                    [int(i) for i in c["incident_ids"]],
                    c["first_at"],
                    c["last_at"],
                    "MULTILINESTRING("
                    + ",".join(f"({a[0]!r} {a[1]!r},{b[0]!r} {b[1]!r})" for a, b in c["links"])
                    + ")",
                )
                for c in chains
            ],
        )
    return len(chains)


def _run_row(row: Sequence[Any] | None, run_id: int) -> dict[str, Any]:
    if row is None:
        raise NotFound(f"no near-repeat run {run_id}")
    return dict(zip(RUN_COLS, row, strict=True))


_GET = f"SELECT {', '.join(RUN_COLS)} FROM near_repeat_runs WHERE id = %s"
_CELLS = (
    f"SELECT {', '.join(CELL_COLS)} FROM near_repeat_cells WHERE run_id = %s "
    "ORDER BY space_band, time_band"
)


def get_run(conn: psycopg.Connection, run_id: int) -> dict[str, Any]:
    return _run_row(conn.execute(_GET, (run_id,)).fetchone(), run_id)


def read_cells(conn: psycopg.Connection, run_id: int) -> list[dict[str, Any]]:
    return [dict(zip(CELL_COLS, r, strict=True)) for r in conn.execute(_CELLS, (run_id,))]


def read_chains(conn: psycopg.Connection, run_id: int) -> list[dict[str, Any]]:
    cols = ("chain_id", "n_incidents", "incident_ids", "first_at", "last_at")
    rows = conn.execute(
        f"SELECT {', '.join(cols)} FROM near_repeat_chains WHERE run_id = %s ORDER BY chain_id",
        (run_id,),
    ).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


# --- async variants for the API (connections from api/deps.py under RLS) ----------------


async def create_run_async(
    conn: psycopg.AsyncConnection,
    *,
    params: dict[str, Any],
    input_filter: dict[str, Any],
    created_by: str,
    agency_id: int | None,
) -> int:
    cur = await conn.execute(
        _INSERT_RUN, ("queued", Jsonb(params), Jsonb(input_filter), created_by, agency_id)
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def get_run_async(conn: psycopg.AsyncConnection, run_id: int) -> dict[str, Any]:
    cur = await conn.execute(_GET, (run_id,))
    return _run_row(await cur.fetchone(), run_id)


async def list_runs_async(
    conn: psycopg.AsyncConnection, *, limit: int, before: int | None
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {', '.join(RUN_COLS)} FROM near_repeat_runs "
        "WHERE (%s::int IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        (before, before, limit),
    )
    return [dict(zip(RUN_COLS, r, strict=True)) for r in await cur.fetchall()]


async def cells_async(conn: psycopg.AsyncConnection, run_id: int) -> list[dict[str, Any]]:
    await get_run_async(conn, run_id)  # NotFound when not visible
    cur = await conn.execute(_CELLS, (run_id,))
    return [dict(zip(CELL_COLS, r, strict=True)) for r in await cur.fetchall()]


_CHAINS_GEOJSON = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', chain_id,
    'geometry', ST_AsGeoJSON(geom, 6)::json,
    'properties', json_build_object('chain_id', chain_id, 'n_incidents', n_incidents,
      'incident_ids', incident_ids, 'first_at', first_at, 'last_at', last_at))
  ORDER BY chain_id), '[]'::json))::text
FROM near_repeat_chains WHERE run_id = %s
"""


async def chains_geojson_async(conn: psycopg.AsyncConnection, run_id: int) -> str:
    await get_run_async(conn, run_id)  # NotFound when not visible
    cur = await conn.execute(_CHAINS_GEOJSON, (run_id,))
    row = await cur.fetchone()
    return str(row[0]) if row else '{"type":"FeatureCollection","features":[]}'


async def delete_run_async(conn: psycopg.AsyncConnection, run_id: int) -> None:
    cur = await conn.execute("DELETE FROM near_repeat_runs WHERE id = %s RETURNING id", (run_id,))
    if await cur.fetchone() is None:
        raise NotFound(f"no near-repeat run {run_id} (or not yours to delete)")
