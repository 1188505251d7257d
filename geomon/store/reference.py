"""Loading reference data (countries, borders, places) idempotently: upserts by natural key."""

from __future__ import annotations

import json
from typing import Any, cast

import psycopg

from geomon.reference import NE_BORDER_ACCURACY_M, NE_SOURCE, PlaceRecord


def upsert_countries(conn: psycopg.Connection, features: list[dict[str, Any]]) -> int:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO countries (iso_a3, name, geom, source) VALUES "
            "(%s, %s, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)), %s) "
            "ON CONFLICT (iso_a3) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom, "
            "source = EXCLUDED.source",
            [
                (
                    f["properties"]["iso_a3"],
                    f["properties"]["name"],
                    json.dumps(f["geometry"]),
                    NE_SOURCE,
                )
                for f in features
            ],
        )
    return len(features)


def upsert_borders(conn: psycopg.Connection, features: list[dict[str, Any]]) -> int:
    rows = []
    for f in features:
        a, b = sorted((f["properties"]["a"], f["properties"]["b"]))
        rows.append((f"{a}-{b}", a, b, json.dumps(f["geometry"]), NE_SOURCE, NE_BORDER_ACCURACY_M))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO borders (code, a, b, geom, source, accuracy_m) VALUES "
            "(%s, %s, %s, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)), %s, %s) "
            "ON CONFLICT (code) DO UPDATE SET geom = EXCLUDED.geom, source = EXCLUDED.source, "
            "accuracy_m = EXCLUDED.accuracy_m",
            rows,
        )
    return len(rows)


def upsert_places(conn: psycopg.Connection, places: list[PlaceRecord]) -> int:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO places (name, alt_names, kind, countries, geom, accuracy_m, source, "
            "notes) VALUES (%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET alt_names = EXCLUDED.alt_names, "
            "kind = EXCLUDED.kind, countries = EXCLUDED.countries, geom = EXCLUDED.geom, "
            "accuracy_m = EXCLUDED.accuracy_m, source = EXCLUDED.source, notes = EXCLUDED.notes",
            [
                (
                    p.name,
                    p.alt_names,
                    p.kind,
                    p.countries,
                    p.lon,
                    p.lat,
                    p.accuracy_m,
                    p.source,
                    p.notes,
                )
                for p in places
            ],
        )
    return len(places)


def reference_counts(conn: psycopg.Connection) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM countries), (SELECT count(*) FROM borders), "
        "(SELECT count(*) FROM places)"
    ).fetchone()
    assert row is not None
    return {"countries": row[0], "borders": row[1], "places": row[2]}


async def places_for_map(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT id, name, kind, countries, ST_Y(geom), ST_X(geom), accuracy_m FROM places "
        "ORDER BY id"
    )
    rows = await cur.fetchall()
    keys = ("id", "name", "kind", "countries", "lat", "lon", "accuracy_m")
    return [dict(zip(keys, r, strict=True)) for r in rows]


async def borders_geojson(
    conn: psycopg.AsyncConnection, *, simplify_deg: float = 0.0
) -> dict[str, Any]:
    """Borders as one FeatureCollection (optionally simplified for a map overview)."""
    cur = await conn.execute(
        "SELECT json_build_object('type','FeatureCollection','features', "
        "coalesce(json_agg(json_build_object('type','Feature','id',code,'properties', "
        "json_build_object('code',code,'a',a,'b',b),'geometry', "
        "ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, %s), 5)::json)), '[]'::json)) "
        "FROM borders",
        (simplify_deg,),
    )
    row = await cur.fetchone()
    assert row is not None
    return cast(dict[str, Any], row[0])


async def countries_geojson(
    conn: psycopg.AsyncConnection, *, simplify_deg: float = 0.0
) -> dict[str, Any]:
    """Country polygons as one FeatureCollection (optionally simplified)."""
    cur = await conn.execute(
        "SELECT json_build_object('type','FeatureCollection','features', "
        "coalesce(json_agg(json_build_object('type','Feature','id',iso_a3,'properties', "
        "json_build_object('iso_a3',iso_a3,'name',name),'geometry', "
        "ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, %s), 4)::json)), '[]'::json)) "
        "FROM countries",
        (simplify_deg,),
    )
    row = await cur.fetchone()
    assert row is not None
    return cast(dict[str, Any], row[0])
