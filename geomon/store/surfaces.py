"""Inputs and outputs of risk surfaces and corridors in PostGIS (the only SQL of issue 5).

Reads, for a region (a lon/lat polygon from :func:`geomon.store.hotspot_inputs.resolve_aoi`):
border lines, official crossing points, impassable zones, incidents and patrol presence
(positions, one fix per device per minute), a device's track. Writes: ``surfaces`` rows (the
GeoTIFF itself is written by the caller) and ``corridors`` rows. Geometries go in and out as
WKB in EPSG:4326; the analysis CRS is the caller's business. Row-level security applies to
whoever the connection is (the CLI runs as the owner and sees every agency).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb

from geomon.errors import NotFound

log = logging.getLogger(__name__)

CROSSING_KINDS = ("road_bcp", "rail_bcp")
IMPASSABLE_KINDS = ("closed", "lake")
SURFACE_COLS = (
    "id",
    "kind",
    "name",
    "path",
    "crs",
    "units",
    "params",
    "agency_id",
    "created_by",
    "created_at",
    "bounds",
)
CORRIDOR_COLS = (
    "id",
    "surface_id",
    "rank",
    "params",
    "threshold",
    "n_cells",
    "total_cost",
    "agency_id",
    "created_by",
    "created_at",
    "geom",
    "path",
)
_AOI = "ST_GeomFromWKB(%(aoi)s, 4326)"


def _geoms(rows: list[Any], col: int = 0) -> list[shapely.Geometry]:
    out = [shapely.from_wkb(bytes(r[col])) for r in rows if r[col] is not None]
    return [g for g in out if not g.is_empty]


def border_lines(
    conn: psycopg.Connection, aoi: shapely.Geometry, *, margin_km: float = 20.0
) -> tuple[list[str], list[shapely.Geometry]]:
    """Codes and lines of the borders within ``margin_km`` of the region, clipped to that."""
    rows = conn.execute(
        "WITH a AS (SELECT ST_Buffer(" + _AOI + "::geography, %(m)s)::geometry g) "
        "SELECT b.code, ST_AsBinary(ST_Intersection(b.geom, a.g)) FROM borders b, a "
        "WHERE ST_Intersects(b.geom, a.g) ORDER BY b.code",
        {"aoi": shapely.to_wkb(aoi), "m": margin_km * 1000.0},
    ).fetchall()
    return [r[0] for r in rows], _geoms(rows, 1)


def border_line(conn: psycopg.Connection, code: str) -> shapely.Geometry:
    """One border (code like AFG-TJK, either order) as a lon/lat MultiLineString."""
    row = conn.execute(
        "SELECT ST_AsBinary(geom) FROM borders WHERE code = upper(%s) OR b || '-' || a = upper(%s)",
        (code, code),
    ).fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"no border {code!r} in the reference data (codes like AFG-TJK)")
    return shapely.from_wkb(bytes(row[0]))


def crossing_points(
    conn: psycopg.Connection,
    aoi: shapely.Geometry,
    *,
    kinds: tuple[str, ...] = CROSSING_KINDS,
    margin_km: float = 20.0,
) -> list[dict[str, Any]]:
    """Places of ``kinds`` within ``margin_km`` of the region: id, name, kind, lon, lat."""
    rows = conn.execute(
        "SELECT id, name, kind, countries, ST_X(geom), ST_Y(geom) FROM places "
        "WHERE kind = ANY(%(k)s) AND ST_DWithin(geom::geography, " + _AOI + "::geography, %(m)s)"
        " ORDER BY id",
        {"k": list(kinds), "aoi": shapely.to_wkb(aoi), "m": margin_km * 1000.0},
    ).fetchall()
    return [
        dict(zip(("id", "name", "kind", "countries", "lon", "lat"), r, strict=True)) for r in rows
    ]


def place(conn: psycopg.Connection, name: str) -> dict[str, Any]:
    """A place by exact name, else the single case-insensitive partial match."""
    cols = ("id", "name", "kind", "countries", "lon", "lat")
    sql = "SELECT id, name, kind, countries, ST_X(geom), ST_Y(geom) FROM places WHERE "
    rows = conn.execute(sql + "name = %s", (name,)).fetchall()
    if not rows:
        rows = conn.execute(sql + "name ILIKE %s ORDER BY name", (f"%{name}%",)).fetchall()
    if not rows:
        raise NotFound(f"no place named like {name!r}")
    if len(rows) > 1:
        raise NotFound(f"{name!r} matches {len(rows)} places: " + "; ".join(r[1] for r in rows[:6]))
    return dict(zip(cols, rows[0], strict=True))


def nearest_place(
    conn: psycopg.Connection, lon: float, lat: float, *, kinds: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The place nearest to (lon, lat) (optionally of ``kinds``), with its distance in metres."""
    row = conn.execute(
        "SELECT id, name, kind, countries, ST_X(geom), ST_Y(geom), "
        "ST_Distance(geom::geography, ST_MakePoint(%(x)s, %(y)s)::geography) d FROM places "
        "WHERE %(k)s::text[] IS NULL OR kind = ANY(%(k)s) ORDER BY d LIMIT 1",
        {"x": lon, "y": lat, "k": list(kinds) if kinds else None},
    ).fetchone()
    if row is None:
        raise NotFound("no places loaded (run geomon load-reference)")
    return dict(
        zip(("id", "name", "kind", "countries", "lon", "lat", "distance_m"), row, strict=True)
    )


def border_crossings(
    conn: psycopg.Connection, code: str, *, kinds: tuple[str, ...] = CROSSING_KINDS
) -> list[dict[str, Any]]:
    """Official crossing points on one border (places whose ``countries`` is that pair)."""
    rows = conn.execute(
        "SELECT p.id, p.name, p.kind, p.countries, ST_X(p.geom), ST_Y(p.geom) FROM places p "
        "JOIN borders b ON p.countries IN (b.code, b.b || '-' || b.a) "
        "WHERE (b.code = upper(%s) OR b.b || '-' || b.a = upper(%s)) AND p.kind = ANY(%s) "
        "ORDER BY p.id",
        (code, code, list(kinds)),
    ).fetchall()
    return [
        dict(zip(("id", "name", "kind", "countries", "lon", "lat"), r, strict=True)) for r in rows
    ]


def impassable_polygons(
    conn: psycopg.Connection, aoi: shapely.Geometry, *, kinds: tuple[str, ...] = IMPASSABLE_KINDS
) -> tuple[list[int], list[shapely.Geometry]]:
    """Active zones of ``kinds`` (closed areas, lakes) meeting the region: ids and polygons."""
    rows = conn.execute(
        "SELECT id, ST_AsBinary(geom) FROM zones WHERE active AND kind = ANY(%(k)s) "
        "AND ST_Intersects(geom, " + _AOI + ") ORDER BY id",
        {"k": list(kinds), "aoi": shapely.to_wkb(aoi)},
    ).fetchall()
    return [int(r[0]) for r in rows], _geoms(rows, 1)


def patrol_presence(
    conn: psycopg.Connection, aoi: shapely.Geometry, since: datetime, until: datetime
) -> np.ndarray:
    """Valid fixes in the region and window thinned to one per device per minute, as an
    (n, 2) lon/lat array: presence, not ping rate (a 1 Hz tracker is not 60 patrols)."""
    rows = conn.execute(
        "SELECT DISTINCT ON (device_id, date_trunc('minute', fix_time)) ST_X(geom), ST_Y(geom) "
        "FROM positions WHERE valid AND fix_time >= %(t0)s AND fix_time < %(t1)s "
        "AND ST_Intersects(geom, " + _AOI + ") "
        "ORDER BY device_id, date_trunc('minute', fix_time), fix_time",
        {"t0": since, "t1": until, "aoi": shapely.to_wkb(aoi)},
    ).fetchall()
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def incident_points(
    conn: psycopg.Connection,
    aoi: shapely.Geometry,
    *,
    category: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> np.ndarray:
    """Incidents in the region (optionally one category, a time window) as (n, 2) lon/lat."""
    rows = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE geom IS NOT NULL "
        "AND (%(c)s::text IS NULL OR category = %(c)s) "
        "AND (%(t0)s::timestamptz IS NULL OR occurred_at >= %(t0)s) "
        "AND (%(t1)s::timestamptz IS NULL OR occurred_at < %(t1)s) "
        "AND ST_Intersects(geom, " + _AOI + ")",
        {"c": category, "t0": since, "t1": until, "aoi": shapely.to_wkb(aoi)},
    ).fetchall()
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def devices_in_region(
    conn: psycopg.Connection,
    aoi: shapely.Geometry,
    since: datetime,
    until: datetime,
    *,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Devices with valid fixes in the region and window, most fixes first."""
    rows = conn.execute(
        "SELECT d.id, d.uid, count(*), min(p.fix_time), max(p.fix_time) FROM positions p "
        "JOIN devices d ON d.id = p.device_id WHERE p.valid AND p.fix_time >= %(t0)s "
        "AND p.fix_time < %(t1)s AND ST_Intersects(p.geom, " + _AOI + ") "
        "GROUP BY d.id, d.uid ORDER BY count(*) DESC, d.uid LIMIT %(n)s",
        {"t0": since, "t1": until, "aoi": shapely.to_wkb(aoi), "n": limit},
    ).fetchall()
    return [
        dict(zip(("device_id", "uid", "n_fixes", "first_fix", "last_fix"), r, strict=True))
        for r in rows
    ]


def device_track(
    conn: psycopg.Connection, device: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """A device's valid fixes in [since, until) as one lon/lat LineString ordered by fix_time.

    ``device`` is its uid, or its numeric id. ``line`` is None with fewer than two fixes.
    """
    num = int(device) if device.isdigit() and len(device) < 10 else None
    dev = conn.execute(
        "SELECT id, uid FROM devices WHERE uid = %s OR id = %s ORDER BY (uid = %s) DESC LIMIT 1",
        (device, num, device),
    ).fetchone()
    if dev is None:
        raise NotFound(f"no device {device!r} (or not visible)")
    row = conn.execute(
        "SELECT count(*), min(fix_time), max(fix_time), "
        "ST_AsBinary(ST_MakeLine(geom ORDER BY fix_time)) FROM positions "
        "WHERE device_id = %s AND valid AND fix_time >= %s AND fix_time < %s",
        (dev[0], since, until),
    ).fetchone()
    assert row is not None
    n = int(row[0])
    line = shapely.from_wkb(bytes(row[3])) if n >= 2 and row[3] is not None else None
    return {
        "device_id": int(dev[0]),
        "uid": dev[1],
        "n_fixes": n,
        "first_fix": row[1],
        "last_fix": row[2],
        "line": line,
    }


# --------------------------------------------------------------------------- surfaces


def finite_bounds(bounds: shapely.Geometry) -> shapely.Geometry:
    """``bounds`` when every vertex is finite; else the box of its finite vertices, clipped to
    the world (the whole world when that has no area). A raster reprojected from a metric CRS
    far past that CRS's area (a KDE over a huge bbox in one UTM zone) has outline vertices
    pyproj can only make infinite, and ``ST_AsGeoJSON`` writes those as ``Infinity``, which
    no JSON parser takes: one such row failed every ``GET /api/v1/surfaces`` of its agency."""
    xy = shapely.get_coordinates(bounds)
    ok = np.isfinite(xy).all(axis=1)
    if ok.all():
        return bounds
    log.warning(
        "surface outline has %d non-finite vertices; storing the box of the rest", (~ok).sum()
    )
    if ok.any():
        (w, s), (e, n) = xy[ok].min(axis=0), xy[ok].max(axis=0)
        w, s, e, n = max(w, -180.0), max(s, -90.0), min(e, 180.0), min(n, 90.0)
        if e > w and n > s:
            return shapely.box(w, s, e, n)
    return shapely.box(-180.0, -90.0, 180.0, 90.0)


def insert_surface(
    conn: psycopg.Connection,
    *,
    kind: str,
    name: str,
    crs: str,
    units: str,
    params: dict[str, Any],
    bounds_wgs84: shapely.Geometry,
    agency_id: int | None,
    created_by: str,
    path: str = "",
) -> int:
    """A ``surfaces`` row; the caller writes the file and sets :func:`set_surface_path`."""
    row = conn.execute(
        "INSERT INTO surfaces (kind, name, path, crs, units, params, bounds, agency_id, "
        "created_by) VALUES (%s, %s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4326), %s, %s) "
        "RETURNING id",
        (
            kind,
            name,
            path,
            crs,
            units,
            Jsonb(params),
            shapely.to_wkb(finite_bounds(bounds_wgs84)),
            agency_id,
            created_by,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def set_surface_path(conn: psycopg.Connection, surface_id: int, path: str) -> None:
    conn.execute("UPDATE surfaces SET path = %s WHERE id = %s", (path, surface_id))


def _surface_select(where: str) -> str:
    return f"SELECT {', '.join(SURFACE_COLS[:-1])}, ST_AsText(bounds) FROM surfaces {where}"


def get_surface(conn: psycopg.Connection, surface_id: int) -> dict[str, Any]:
    row = conn.execute(_surface_select("WHERE id = %s"), (surface_id,)).fetchone()
    if row is None:
        raise NotFound(f"no surface {surface_id} (or not visible)")
    return dict(zip(SURFACE_COLS, row, strict=True))


def list_surfaces(
    conn: psycopg.Connection, *, kind: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first."""
    rows = conn.execute(
        _surface_select("WHERE (%s::text IS NULL OR kind = %s) ORDER BY id DESC LIMIT %s"),
        (kind, kind, limit),
    ).fetchall()
    return [dict(zip(SURFACE_COLS, r, strict=True)) for r in rows]


def delete_surface(conn: psycopg.Connection, surface_id: int) -> tuple[str, int]:
    """Delete a surface and the corridors computed on it; returns (file path, corridors)."""
    n = conn.execute("DELETE FROM corridors WHERE surface_id = %s", (surface_id,)).rowcount
    row = conn.execute(
        "DELETE FROM surfaces WHERE id = %s RETURNING path", (surface_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no surface {surface_id} (or not yours to delete)")
    return str(row[0]), int(n)


# --------------------------------------------------------------------------- corridors


def insert_corridor(
    conn: psycopg.Connection,
    *,
    surface_id: int | None,
    rank: int,
    params: dict[str, Any],
    threshold: float,
    n_cells: int,
    total_cost: float,
    geom_wgs84: shapely.Geometry,
    path_wgs84: shapely.Geometry | None,
    agency_id: int | None,
    created_by: str,
) -> int:
    """One ``corridors`` row (polygons forced to MultiPolygon, the path a LineString)."""
    row = conn.execute(
        "INSERT INTO corridors (surface_id, rank, params, threshold, n_cells, total_cost, geom, "
        "path, agency_id, created_by) VALUES (%s, %s, %s, %s, %s, %s, "
        "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(%s, 4326)), 3)), "
        "ST_GeomFromWKB(%s, 4326), %s, %s) RETURNING id",
        (
            surface_id,
            rank,
            Jsonb(params),
            threshold,
            n_cells,
            total_cost,
            shapely.to_wkb(geom_wgs84),
            None if path_wgs84 is None else shapely.to_wkb(path_wgs84),
            agency_id,
            created_by,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def corridors_of(
    conn: psycopg.Connection, *, surface_id: int | None = None, ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Corridors (geometries as GeoJSON text) by surface or ids, ordered by id."""
    rows = conn.execute(
        "SELECT id, surface_id, rank, params, threshold, n_cells, total_cost, agency_id, "
        "created_by, created_at, ST_AsGeoJSON(geom, 6), ST_AsGeoJSON(path, 6) FROM corridors "
        "WHERE (%(s)s::int IS NULL OR surface_id = %(s)s) "
        "AND (%(ids)s::int[] IS NULL OR id = ANY(%(ids)s)) ORDER BY id",
        {"s": surface_id, "ids": ids},
    ).fetchall()
    return [dict(zip(CORRIDOR_COLS, r, strict=True)) for r in rows]


# --------------------------------------------------------------------------- API reads (async)

_API_COLS = ("id", "kind", "name", "crs", "units", "params", "created_by", "created_at", "bounds")
_API_SELECT = (  # rows stored before finite_bounds may hold Infinity: no bounds, not a 400
    "SELECT id, kind, name, crs, units, params, created_by, created_at, "
    "CASE WHEN ST_XMin(bounds) > '-Infinity'::float8 AND ST_XMax(bounds) < 'Infinity'::float8 "
    "AND ST_YMin(bounds) > '-Infinity'::float8 AND ST_YMax(bounds) < 'Infinity'::float8 "
    "THEN ST_AsGeoJSON(bounds, 6)::json END FROM surfaces "
)


async def list_surfaces_async(
    conn: psycopg.AsyncConnection, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Visible surfaces, newest first, without their params (bounds as GeoJSON)."""
    cur = await conn.execute(_API_SELECT + "ORDER BY id DESC LIMIT %s", (limit,))
    rows = [dict(zip(_API_COLS, r, strict=True)) for r in await cur.fetchall()]
    for r in rows:
        r.pop("params")
    return rows


async def get_surface_async(conn: psycopg.AsyncConnection, surface_id: int) -> dict[str, Any]:
    cur = await conn.execute(_API_SELECT + "WHERE id = %s", (surface_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no surface {surface_id} (or not visible)")
    return dict(zip(_API_COLS, row, strict=True))
