"""Create, read, update and delete zones for the REST API (async; generation and imports are
in :mod:`geomon.store.zones`). Geometries arrive as GeoJSON in lon/lat and are stored as
valid MultiPolygons; the zone's agency is the caller's (row-level security checks it)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from geomon.errors import Conflict, InvalidRequest, NotFound

_COLS = ("id", "agency", "name", "kind", "active", "attrs", "created_at", "geometry")
_SELECT = """
SELECT z.id, a.code, z.name, z.kind, z.active, z.attrs, z.created_at, ST_AsGeoJSON(z.geom, 7)
FROM zones z JOIN agencies a ON a.id = z.agency_id
"""
_GEOM = "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)), 3))"


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_COLS, r, strict=True))


async def list_zones(
    conn: psycopg.AsyncConnection, *, after: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        _SELECT + "WHERE (%s::int IS NULL OR z.id > %s) ORDER BY z.id LIMIT %s",
        (after, after, limit),
    )
    return [_row(r) for r in await cur.fetchall()]


async def get_zone(conn: psycopg.AsyncConnection, zone_id: int) -> dict[str, Any]:
    cur = await conn.execute(_SELECT + "WHERE z.id = %s", (zone_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no zone {zone_id}")
    return _row(row)


async def _check_geometry(conn: psycopg.AsyncConnection, geometry: dict[str, Any]) -> str:
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidRequest("zone geometry must be a GeoJSON Polygon or MultiPolygon")
    text = json.dumps(geometry)
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction survives
            cur = await conn.execute(f"SELECT ST_IsEmpty({_GEOM})", (text,))
    except psycopg.Error as exc:  # PostGIS refuses bad coordinates, unclosed rings…
        raise InvalidRequest(
            f"zone geometry is not valid GeoJSON: {exc.diag.message_primary}"
        ) from None
    if (await cur.fetchone())[0]:  # type: ignore[index]
        raise InvalidRequest("zone geometry has no area")
    return text


async def create_zone(
    conn: psycopg.AsyncConnection,
    *,
    agency_id: int,
    name: str,
    kind: str,
    geometry: dict[str, Any],
    attrs: dict[str, Any],
) -> dict[str, Any]:
    text = await _check_geometry(conn, geometry)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                f"INSERT INTO zones (agency_id, name, kind, geom, attrs) VALUES "
                f"(%s, %s, %s, {_GEOM}, %s) RETURNING id",
                (agency_id, name, kind, text, json.dumps(attrs)),
            )
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"your agency already has a zone named {name!r}") from None
    return await get_zone(conn, int((await cur.fetchone())[0]))  # type: ignore[index]


async def update_zone(
    conn: psycopg.AsyncConnection, zone_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply the given fields (name, kind, active, attrs, geometry); others stay."""
    sets, params = [], []
    for col in ("name", "kind", "active"):
        if col in changes:
            sets.append(f"{col} = %s")
            params.append(changes[col])
    if "attrs" in changes:
        sets.append("attrs = %s")
        params.append(json.dumps(changes["attrs"]))
    if "geometry" in changes:
        sets.append(f"geom = {_GEOM}")
        params.append(await _check_geometry(conn, changes["geometry"]))
    if sets:
        try:
            async with conn.transaction():
                cur = await conn.execute(
                    f"UPDATE zones SET {', '.join(sets)} WHERE id = %s", (*params, zone_id)
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict("your agency already has a zone with that name") from None
        if cur.rowcount == 0:
            raise NotFound(f"no zone {zone_id} you may change")
    return await get_zone(conn, zone_id)


async def delete_zone(conn: psycopg.AsyncConnection, zone_id: int) -> None:
    cur = await conn.execute("DELETE FROM zones WHERE id = %s", (zone_id,))
    if cur.rowcount == 0:
        raise NotFound(f"no zone {zone_id} you may delete")
