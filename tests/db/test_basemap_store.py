"""The basemap in PostGIS: context layers loaded with Russian names, land and the Caspian
derived from the countries, and tiles whose content depends on the zoom."""

from __future__ import annotations

import asyncio

import mercantile
import psycopg

from geomon.basemap import place_minzoom, river_minzoom
from geomon.store.basemap import basemap_counts, render_basemap_tile

KHOROG = (71.55, 37.49)  # lon, lat


def test_loaded_layers_and_russian_names(conn: psycopg.Connection) -> None:
    counts = basemap_counts(conn)
    assert counts["place"] == 472 and counts["river"] == 88 and counts["peak"] == 55
    assert counts["water"] == 125  # 124 lakes and the Caspian
    assert counts["country_label"] == 14 and counts["land"] > 14
    rows = dict(
        conn.execute(
            "SELECT name, name_ru FROM basemap_features WHERE layer IN ('river', 'water', "
            "'country_label', 'place') AND name IN ('Panj', 'Amu Darya', 'Caspian Sea', "
            "'Tajikistan', 'Khorugh')"
        ).fetchall()
    )
    assert rows == {
        "Panj": "Пяндж",
        "Amu Darya": "Амударья",
        "Caspian Sea": "Каспийское море",
        "Tajikistan": "Таджикистан",
        "Khorugh": "Хорог",
    }
    # the Caspian is the hole the countries around it leave: it holds a point in the sea
    inside = conn.execute(
        "SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(50.5, 41.5), 4326)) "
        "FROM basemap_features WHERE name = 'Caspian Sea' AND layer = 'water'"
    ).fetchone()
    assert inside == (True,)


def test_minzoom_rules() -> None:
    assert place_minzoom(3, "Admin-0 capital") == 3
    assert place_minzoom(6, "Admin-1 capital") == 6  # Khorog
    assert place_minzoom(10, "Populated place") == 9
    assert river_minzoom(5) == 4  # the Panj, the Amu Darya


def _tile(db_url: str, z: int) -> bytes:
    t = mercantile.tile(*KHOROG, z)

    async def render() -> bytes:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            return await render_basemap_tile(conn, z, t.x, t.y, z + 1)

    return asyncio.run(render())


def test_tiles_hold_labels_by_zoom(db_url: str) -> None:
    border = _tile(db_url, 8)  # drawn at display zoom 9
    for name in ("Хорог", "Khorugh", "Пяндж", "AFG-TJK"):
        assert name.encode() in border, name
    for layer in (b"land", b"rivers", b"country_lines", b"borders", b"places", b"crossings"):
        assert layer in border
    region = _tile(db_url, 4)  # display zoom 5: Khorog (minzoom 6) is not there yet
    assert "Хорог".encode() not in region
    assert "Душанбе".encode() in region and "Таджикистан".encode() in region
