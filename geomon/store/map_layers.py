"""Reads for the situation map: context layers as GeoJSON, a device's track, a post's latest
sensor observations and the backlog of unresolved events.

Each read returns plain dicts / GeoJSON built in SQL (``json_build_object``) so the API only
passes them through. Geometries are EPSG:4326.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import psycopg

_FC = (
    "SELECT json_build_object('type','FeatureCollection','features', "
    "coalesce(json_agg(f), '[]'::json)) FROM ({inner}) f"
)


async def _collection(
    conn: psycopg.AsyncConnection, inner: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    cur = await conn.execute(_FC.format(inner=inner), params or {})
    row = await cur.fetchone()
    assert row is not None
    return cast(dict[str, Any], row[0])


async def zones_geojson(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    """Active zones (geofences, patrol areas) with their kind and agency code."""
    return await _collection(
        conn,
        (
            "SELECT 'Feature' AS type, z.id, json_build_object('name', z.name, 'kind', z.kind, "
            "'agency', a.code) AS properties, ST_AsGeoJSON(z.geom, 5)::json AS geometry "
            "FROM zones z JOIN agencies a ON a.id = z.agency_id WHERE z.active ORDER BY z.id"
        ),
    )


async def incident_points(conn: psycopg.AsyncConnection, *, limit: int = 20_000) -> list[list[Any]]:
    """Newest incidents as compact rows [lat, lon, category, quantity, unit, date]."""
    cur = await conn.execute(
        "SELECT round(ST_Y(geom)::numeric, 5)::float, round(ST_X(geom)::numeric, 5)::float, "
        "category, quantity, unit, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') "
        "FROM incidents ORDER BY occurred_at DESC LIMIT %s",
        (limit,),
    )
    return [list(r) for r in await cur.fetchall()]


async def latest_hotspot_geojson(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    """Cells of the newest Gi* run with their bin (−3…3), z and p; empty when none ran."""
    return await _collection(
        conn,
        (
            "SELECT 'Feature' AS type, c.cell_id AS id, json_build_object('run', c.run_id, "
            "'gi_bin', coalesce(c.gi_bin_fdr, c.gi_bin), 'z', round(c.z::numeric, 2), "
            "'p', round(c.p::numeric, 4), 'value', c.value) AS properties, "
            "ST_AsGeoJSON(c.geom, 5)::json AS geometry FROM hotspot_cells c "
            "WHERE c.run_id = (SELECT max(id) FROM hotspot_runs WHERE kind = 'gistar')"
        ),
    )


async def corridors_geojson(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    """Corridor polygons (newest first) with rank and cost."""
    return await _collection(
        conn,
        (
            "SELECT 'Feature' AS type, id, json_build_object('rank', rank, 'total_cost', "
            "total_cost, 'threshold', threshold) AS properties, "
            "ST_AsGeoJSON(geom, 5)::json AS geometry FROM corridors WHERE geom IS NOT NULL "
            "ORDER BY created_at DESC LIMIT 50"
        ),
    )


async def surfaces_list(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """Stored raster surfaces (kde, risk…) newest first, for raster tile layers."""
    cur = await conn.execute(
        "SELECT id, kind, name FROM surfaces WHERE kind IN ('kde', 'risk') "
        "ORDER BY created_at DESC LIMIT 10"
    )
    return [{"id": r[0], "kind": r[1], "name": r[2]} for r in await cur.fetchall()]


async def places_for_search(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """Every place with its alternative names, for the map's search box and markers."""
    cur = await conn.execute(
        "SELECT id, name, alt_names, kind, countries, round(ST_Y(geom)::numeric, 5)::float, "
        "round(ST_X(geom)::numeric, 5)::float, accuracy_m FROM places ORDER BY id"
    )
    keys = ("id", "name", "alt_names", "kind", "countries", "lat", "lon", "accuracy_m")
    return [dict(zip(keys, r, strict=True)) for r in await cur.fetchall()]


async def place_observations(
    conn: psycopg.AsyncConnection, place_id: int, *, radius_m: float = 2_000, limit: int = 10
) -> list[dict[str, Any]]:
    """The latest observations of sensors within ``radius_m`` of a place (a post's sensors)."""
    cur = await conn.execute(
        "SELECT d.uid, d.name, o.kind, o.value, o.text, o.observed_at FROM observations o "
        "JOIN devices d ON d.id = o.sensor_id, places p WHERE p.id = %(id)s "
        "AND o.geom IS NOT NULL AND ST_DWithin(o.geom::geography, p.geom::geography, %(r)s) "
        "ORDER BY o.observed_at DESC LIMIT %(n)s",
        {"id": place_id, "r": radius_m, "n": limit},
    )
    keys = ("sensor_uid", "sensor", "kind", "value", "text", "observed_at")
    return [dict(zip(keys, r, strict=True)) for r in await cur.fetchall()]


async def device_track(
    conn: psycopg.AsyncConnection,
    device_id: int,
    start: datetime,
    end: datetime,
    *,
    limit: int = 20_000,
) -> list[list[Any]]:
    """A device's fixes in [start, end) as rows [epoch_ms, lat, lon, speed_mps, course_deg]."""
    cur = await conn.execute(
        "SELECT (extract(epoch FROM fix_time) * 1000)::bigint, ST_Y(geom), ST_X(geom), "
        "speed_mps, course_deg FROM positions WHERE device_id = %s AND fix_time >= %s "
        "AND fix_time < %s ORDER BY fix_time LIMIT %s",
        (device_id, start, end, limit),
    )
    return [list(r) for r in await cur.fetchall()]


_EVENT_COLUMNS = (
    "SELECT e.id, e.kind, e.severity, e.state, e.occurred_at, ST_Y(e.geom), ST_X(e.geom), "
    "d.uid, d.name, z.name, a.code, e.attrs FROM events e JOIN agencies a ON a.id = e.agency_id "
    "LEFT JOIN devices d ON d.id = e.device_id LEFT JOIN zones z ON z.id = e.zone_id "
)
_EVENT_KEYS = (
    "id",
    "kind",
    "severity",
    "state",
    "occurred_at",
    "lat",
    "lon",
    "device_uid",
    "device",
    "zone",
    "agency",
    "attrs",
)


async def recent_events(
    conn: psycopg.AsyncConnection, *, after_id: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """Unresolved events newer than ``after_id``, newest first."""
    cur = await conn.execute(
        _EVENT_COLUMNS + "WHERE e.id > %s AND e.state <> 'resolved' ORDER BY e.id DESC LIMIT %s",
        (after_id, limit),
    )
    return [dict(zip(_EVENT_KEYS, r, strict=True)) for r in await cur.fetchall()]
