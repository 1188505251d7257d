"""Stored forecast runs: ``forecast_runs`` rows and their ``forecast_cells`` (migration 0022).

Row-level security as for hotspot runs: a run belongs to an agency (share scope ``analysis``),
its cells follow the run. Geometries arrive as EWKB (EPSG:4326); NaN statistics become NULL.
Also the reference geometries a forecast is built on (border lines, crossing points, zones).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb

from geomon.errors import InvalidRequest, NotFound

RUN_COLS = (
    "id",
    "status",
    "params",
    "input_filter",
    "step",
    "n_locations",
    "n_steps",
    "n_events",
    "duration_s",
    "created_by",
    "agency_id",
    "error",
    "created_at",
)
CELL_STATS = (
    "expected_next",
    "lower_next",
    "upper_next",
    "naive_next",
    "rmse",
    "rmse_naive",
    "mase",
    "mase_naive",
    "skill_p",
)
_CELL_COLS = ("loc_id", "name", "status", "model", "trusted", *CELL_STATS, "peak_pos", "n_outliers")


def create_run(
    conn: psycopg.Connection,
    *,
    params: dict[str, Any],
    input_filter: dict[str, Any],
    step: str,
    status: str = "running",
    created_by: str = "",
    agency_id: int | None = None,
) -> int:
    row = conn.execute(
        "INSERT INTO forecast_runs (status, params, input_filter, step, created_by, agency_id) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (status, Jsonb(params), Jsonb(input_filter), step, created_by, agency_id),
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_run(
    conn: psycopg.Connection,
    run_id: int,
    *,
    n_locations: int,
    n_steps: int,
    n_events: int,
    duration_s: float,
) -> None:
    conn.execute(
        "UPDATE forecast_runs SET status = 'done', n_locations = %s, n_steps = %s, "
        "n_events = %s, duration_s = %s, error = NULL WHERE id = %s",
        (n_locations, n_steps, n_events, duration_s, run_id),
    )


def fail_run(conn: psycopg.Connection, run_id: int, error: str) -> None:
    conn.execute(
        "UPDATE forecast_runs SET status = 'failed', error = %s WHERE id = %s",
        (error[:2000], run_id),
    )


def set_status(conn: psycopg.Connection, run_id: int, status: str) -> None:
    conn.execute("UPDATE forecast_runs SET status = %s WHERE id = %s", (status, run_id))


def _num(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return None if v != v else float(v)
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    return v


def save_cells(
    conn: psycopg.Connection,
    run_id: int,
    rows: Sequence[dict[str, Any]],
    geoms_wgs84: Sequence[shapely.Geometry],
) -> int:
    """One row per location: ``rows`` carry the _CELL_COLS values and ``series`` (a dict)."""
    wkb = shapely.to_wkb(
        shapely.set_srid(np.asarray(geoms_wgs84, dtype=object), 4326), include_srid=True
    )
    names = ", ".join(_CELL_COLS)
    marks = ", ".join(["%s"] * len(_CELL_COLS))
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO forecast_cells (run_id, geom, series, {names}) "
            f"VALUES (%s, ST_GeomFromEWKB(%s), %s, {marks})",
            [
                (run_id, bytes(g), Jsonb(r["series"]), *(_num(r[c]) for c in _CELL_COLS))
                for r, g in zip(rows, wkb.tolist(), strict=True)
            ],
        )
    return len(rows)


def _run_row(row: Sequence[Any] | None, run_id: int) -> dict[str, Any]:
    if row is None:
        raise NotFound(f"no forecast run {run_id}")
    return dict(zip(RUN_COLS, row, strict=True))


def get_run(conn: psycopg.Connection, run_id: int) -> dict[str, Any]:
    cur = conn.execute(f"SELECT {', '.join(RUN_COLS)} FROM forecast_runs WHERE id = %s", (run_id,))
    return _run_row(cur.fetchone(), run_id)


def cell_summary(conn: psycopg.Connection, run_id: int) -> dict[str, Any]:
    """Counts per status and model, trusted count, and the hottest expected locations."""
    by = conn.execute(
        "SELECT status, model, trusted, count(*) FROM forecast_cells WHERE run_id = %s "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        (run_id,),
    ).fetchall()
    top = conn.execute(
        "SELECT loc_id, name, expected_next, lower_next, upper_next, naive_next, trusted, "
        "peak_pos FROM forecast_cells WHERE run_id = %s AND status = 'ok' "
        "ORDER BY expected_next DESC NULLS LAST LIMIT 10",
        (run_id,),
    ).fetchall()
    return {
        "groups": [
            {"status": s, "model": m, "trusted": t, "n": int(n)} for s, m, t, n in by
        ],
        "top": [
            dict(zip(("loc_id", "name", "expected_next", "lower_next", "upper_next",
                      "naive_next", "trusted", "peak_pos"), r, strict=True))
            for r in top
        ],
    }  # fmt: skip


def read_cells(conn: psycopg.Connection, run_id: int) -> list[dict[str, Any]]:
    cols = (*_CELL_COLS, "series")
    rows = conn.execute(
        f"SELECT {', '.join(cols)} FROM forecast_cells WHERE run_id = %s ORDER BY loc_id",
        (run_id,),
    ).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


# --- reference geometries a forecast is built on ----------------------------------------


def border_lines(conn: psycopg.Connection, code: str) -> list[tuple[str, shapely.Geometry]]:
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM borders WHERE code = upper(%s) "
        "OR b || '-' || a = upper(%s)",
        (code, code),
    ).fetchall()
    if not rows:
        raise NotFound(f"no border {code!r} in the reference data (codes like AFG-TJK)")
    return [(str(c), shapely.from_wkb(bytes(g))) for c, g in rows]


def crossing_points(
    conn: psycopg.Connection, country: str | None, kinds: tuple[str, ...]
) -> list[tuple[str, float, float]]:
    rows = conn.execute(
        "SELECT name, ST_X(geom), ST_Y(geom) FROM places WHERE kind = ANY(%s) AND "
        "(%s::text IS NULL OR %s = ANY(string_to_array(countries, '-'))) ORDER BY name",
        (list(kinds), country, country),
    ).fetchall()
    return [(str(n), float(x), float(y)) for n, x, y in rows]


def zone_polygons(conn: psycopg.Connection, kind: str | None) -> list[tuple[str, shapely.Geometry]]:
    """Active zones the caller may see (RLS), optionally of one kind."""
    rows = conn.execute(
        "SELECT name, ST_AsBinary(geom) FROM zones WHERE active AND "
        "(%s::text IS NULL OR kind = %s) AND ST_Dimension(geom) = 2 ORDER BY id",
        (kind, kind),
    ).fetchall()
    return [(str(n), shapely.from_wkb(bytes(g))) for n, g in rows]


# --- async variants for the API (connections from api/deps.py under RLS) ----------------


async def create_run_async(
    conn: psycopg.AsyncConnection,
    *,
    params: dict[str, Any],
    input_filter: dict[str, Any],
    step: str,
    created_by: str,
    agency_id: int | None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO forecast_runs (status, params, input_filter, step, created_by, agency_id) "
        "VALUES ('queued', %s, %s, %s, %s, %s) RETURNING id",
        (Jsonb(params), Jsonb(input_filter), step, created_by, agency_id),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def get_run_async(conn: psycopg.AsyncConnection, run_id: int) -> dict[str, Any]:
    cur = await conn.execute(
        f"SELECT {', '.join(RUN_COLS)} FROM forecast_runs WHERE id = %s", (run_id,)
    )
    return _run_row(await cur.fetchone(), run_id)


async def list_runs_async(
    conn: psycopg.AsyncConnection, *, limit: int, before: int | None
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {', '.join(RUN_COLS)} FROM forecast_runs WHERE (%s::int IS NULL OR id < %s) "
        "ORDER BY id DESC LIMIT %s",
        (before, before, limit),
    )
    return [dict(zip(RUN_COLS, r, strict=True)) for r in await cur.fetchall()]


_FEATURE = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', loc_id,
    'geometry', ST_AsGeoJSON(geom, 6)::json,
    'properties', json_build_object('loc_id', loc_id, 'name', name, 'status', status,
      'model', model, 'trusted', trusted, 'expected_next', expected_next,
      'lower_next', lower_next, 'upper_next', upper_next, 'naive_next', naive_next,
      'rmse', rmse, 'rmse_naive', rmse_naive, 'mase', mase, 'mase_naive', mase_naive,
      'skill_p', skill_p, 'peak', peak_pos + 1, 'n_outliers', n_outliers,
      'forecast', series->'forecast', 'lower', series->'lower', 'upper', series->'upper'))
  ORDER BY loc_id), '[]'::json))::text
FROM forecast_cells WHERE run_id = %s
"""


async def cells_geojson_async(conn: psycopg.AsyncConnection, run_id: int) -> str:
    await get_run_async(conn, run_id)  # NotFound when not visible
    cur = await conn.execute(_FEATURE, (run_id,))
    row = await cur.fetchone()
    return str(row[0]) if row else '{"type":"FeatureCollection","features":[]}'


async def cell_async(conn: psycopg.AsyncConnection, run_id: int, loc_id: int) -> dict[str, Any]:
    cols = (*_CELL_COLS, "series")
    cur = await conn.execute(
        f"SELECT {', '.join(cols)}, ST_AsGeoJSON(geom, 6) FROM forecast_cells "
        "WHERE run_id = %s AND loc_id = %s",
        (run_id, loc_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no location {loc_id} in forecast run {run_id}")
    out = dict(zip(cols, row[:-1], strict=True))
    out["geometry"] = json.loads(row[-1])
    return out


async def delete_run_async(conn: psycopg.AsyncConnection, run_id: int) -> None:
    cur = await conn.execute("DELETE FROM forecast_runs WHERE id = %s RETURNING id", (run_id,))
    if await cur.fetchone() is None:
        raise NotFound(f"no forecast run {run_id} (or not yours to delete)")


_EVENTS_IN_WINDOW = {
    "incidents": "SELECT EXISTS (SELECT 1 FROM incidents t WHERE {where})",
    "cases": "SELECT EXISTS (SELECT 1 FROM cases t WHERE t.deleted_at IS NULL AND {where})",
}


async def window_has_events_async(
    conn: psycopg.AsyncConnection,
    layer: str,
    *,
    category: str | None,
    substance: str | None,
    agency: str | None,
    since: Any,
    until: Any,
) -> bool:
    """Whether the caller sees any incident (or case) of the run's filter in [since, until)."""
    if agency is not None:
        cur = await conn.execute("SELECT 1 FROM agencies WHERE code = %s", (agency,))
        if await cur.fetchone() is None:
            raise InvalidRequest(f"no agency {agency!r}")
    where = (
        "t.occurred_at >= %s AND t.occurred_at < %s AND (%s::text IS NULL OR t.category = %s) "
        "AND (%s::text IS NULL OR t.agency_id = (SELECT id FROM agencies WHERE code = %s))"
    )
    args: list[Any] = [since, until, category, category, agency, agency]
    if substance is not None:
        where += " AND t.substance = %s"
        args.append(substance)
    cur = await conn.execute(_EVENTS_IN_WINDOW[layer].format(where=where), args)
    row = await cur.fetchone()
    return bool(row and row[0])


async def reference_count_async(
    conn: psycopg.AsyncConnection,
    units: str,
    *,
    border: str | None,
    country: str | None,
    zone_kind: str | None,
    bcp_kinds: tuple[str, ...],
) -> int:
    """How many border lines, crossing points or polygon zones a run would be built on
    (-1 for a grid, which is built from the incidents themselves)."""
    args: tuple[Any, ...]
    if units == "border_sectors":
        q, args = (
            "SELECT count(*) FROM borders WHERE code = upper(%s) OR b || '-' || a = upper(%s)",
            (border, border),
        )
    elif units == "crossing_points":
        q, args = (
            "SELECT count(*) FROM places WHERE kind = ANY(%s) AND (%s::text IS NULL OR "
            "%s = ANY(string_to_array(countries, '-')))",
            (list(bcp_kinds), country, country),
        )
    elif units == "zones":
        q, args = (
            "SELECT count(*) FROM zones WHERE active AND (%s::text IS NULL OR kind = %s) "
            "AND ST_Dimension(geom) = 2",
            (zone_kind, zone_kind),
        )
    else:
        return -1
    cur = await conn.execute(q, args)
    row = await cur.fetchone()
    return int(row[0]) if row else 0
