"""A surface outline with non-finite vertices (a KDE raster reprojected from a UTM zone far past
its area, found by schemathesis) is stored as the box of its finite vertices, and a row stored
before that fix no longer fails the API's surface list (ST_AsGeoJSON wrote 'Infinity')."""

from __future__ import annotations

import asyncio
import math

import psycopg
import shapely

from geomon.store.surfaces import finite_bounds, insert_surface, list_surfaces_async

INF = math.inf


def test_finite_bounds_keeps_good_outlines_and_boxes_bad_ones() -> None:
    good = shapely.box(70, 40, 71, 41)
    assert finite_bounds(good) is good
    bad = shapely.Polygon([(INF, INF), (168.9, 25.8), (-171.4, 48.5), (INF, INF), (170, -26)])
    assert (
        shapely.get_coordinates(finite_bounds(bad)).tolist()
        == shapely.get_coordinates(shapely.box(-171.4, -26, 170, 48.5)).tolist()
    )
    nothing = shapely.Polygon([(INF, INF), (INF, -INF), (-INF, INF), (INF, INF)])
    assert finite_bounds(nothing).bounds == (-180, -90, 180, 90)


def test_surfaces_list_survives_an_infinite_outline(db_url: str) -> None:
    bad = shapely.Polygon([(INF, INF), (168.9, 25.8), (-171.4, 48.5), (INF, INF), (170, -26)])
    with psycopg.connect(db_url) as conn:
        fixed = insert_surface(
            conn, kind="kde", name="t-inf", crs="EPSG:32642", units="", params={},
            bounds_wgs84=bad, agency_id=None, created_by="test", path="/nonexistent.tif",
        )  # fmt: skip
        old = conn.execute(  # as stored before the fix
            "INSERT INTO surfaces (kind, name, path, crs, units, params, bounds, created_by) "
            "VALUES ('kde', 't-inf-old', '/x.tif', 'EPSG:32642', '', '{}', "
            "ST_GeomFromWKB(%s, 4326), 'test') RETURNING id",
            (shapely.to_wkb(bad),),
        ).fetchone()[0]

    async def listed() -> dict[int, object]:
        async with await psycopg.AsyncConnection.connect(db_url) as aconn:
            return {r["id"]: r["bounds"] for r in await list_surfaces_async(aconn, limit=10_000)}

    bounds = asyncio.run(listed())
    assert bounds[old] is None
    assert bounds[fixed]["type"] == "Polygon"
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM surfaces WHERE id IN (%s, %s)", (fixed, old))
