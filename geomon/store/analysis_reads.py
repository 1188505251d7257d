"""Reads of stored analysis results (hotspot runs and their cells, corridors, surfaces)."""

from __future__ import annotations

from typing import Any

import psycopg

from geomon.errors import NotFound

_RUN_COLS = (
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
    "created_at",
)
_CORRIDOR_COLS = (
    "id",
    "surface_id",
    "rank",
    "params",
    "threshold",
    "n_cells",
    "total_cost",
    "created_by",
    "created_at",
    "geometry",
    "path",
)


async def list_runs(
    conn: psycopg.AsyncConnection, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {', '.join(_RUN_COLS)} FROM hotspot_runs WHERE (%s::int IS NULL OR id > %s) "
        "ORDER BY id LIMIT %s",
        (after, after, limit),
    )
    return [dict(zip(_RUN_COLS, r, strict=True)) for r in await cur.fetchall()]


async def get_run(conn: psycopg.AsyncConnection, run_id: int) -> dict[str, Any]:
    cur = await conn.execute(
        f"SELECT {', '.join(_RUN_COLS)} FROM hotspot_runs WHERE id = %s", (run_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no hotspot run {run_id}")
    return dict(zip(_RUN_COLS, row, strict=True))


async def run_cells_geojson(conn: psycopg.AsyncConnection, run_id: int) -> str:
    """All cells of a run as one GeoJSON FeatureCollection text (built by PostGIS)."""
    await get_run(conn, run_id)
    cur = await conn.execute(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "
        "COALESCE(json_agg(json_build_object('type', 'Feature', 'id', cell_id, 'geometry', "
        "ST_AsGeoJSON(geom, 7)::json, 'properties', json_build_object('value', value, 'z', z, "
        "'p', p, 'gi_bin', gi_bin, 'gi_bin_fdr', gi_bin_fdr, 'p_sim', p_sim, 'trend_z', "
        "trend_z, 'trend_p', trend_p, 'category', category)) ORDER BY cell_id), '[]'))::text "
        "FROM hotspot_cells WHERE run_id = %s",
        (run_id,),
    )
    return str((await cur.fetchone())[0])  # type: ignore[index]


_CORRIDORS = (
    "SELECT id, surface_id, rank, params, threshold, n_cells, total_cost, created_by, "
    "created_at, ST_AsGeoJSON(geom, 7), ST_AsGeoJSON(path, 7) FROM corridors "
)


async def list_corridors(
    conn: psycopg.AsyncConnection, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        _CORRIDORS + "WHERE (%s::int IS NULL OR id > %s) ORDER BY id LIMIT %s",
        (after, after, limit),
    )
    return [dict(zip(_CORRIDOR_COLS, r, strict=True)) for r in await cur.fetchall()]


async def get_corridor(conn: psycopg.AsyncConnection, corridor_id: int) -> dict[str, Any]:
    cur = await conn.execute(_CORRIDORS + "WHERE id = %s", (corridor_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no corridor {corridor_id}")
    return dict(zip(_CORRIDOR_COLS, row, strict=True))
