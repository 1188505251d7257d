"""The offline basemap in PostGIS: loading ``basemap_features`` and rendering its vector tiles.

Loading replaces the Natural Earth context rows (towns, lakes, rivers, peaks) and re-derives
from ``countries``: land pieces and country outlines (ST_Subdivide, so a tile query touches
small pieces through the GiST index; a simplified copy for zooms up to 6), the Caspian (a hole
that the countries around it enclose), and label points (ST_MaximumInscribedCircle).

A basemap tile is one MVT with a layer per kind (land, water, rivers, roads, country_lines,
borders, places, peaks, countries, water_labels, crossings); roads come from an OpenStreetMap
extract (``geomon basemap import-osm``, geomon/osm_roads.py). Tiles are public reference data:
the same for every caller. ``dz`` is the display zoom the tile is drawn at (the browser draws
data tile z at 512 px, i.e. at display zoom z + 1), which decides what a tile holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import psycopg

from geomon.basemap import NE_CONTEXT_SOURCE, ContextFeature, lake_minzoom
from geomon.reference import NE_SOURCE

EXTENT = 4096
BUFFER = 64
LOW_MAXZOOM = 6  # the simplified land and outlines up to here, the full ones beyond
CONTEXT_LAYERS = ("place", "water", "river", "peak")
DERIVED_LAYERS = ("land", "country_line", "country_label", "water_label")
CROSSING_KINDS = ("road_bcp", "rail_bcp", "dry_port")
CROSSINGS_MINZOOM = 7
CASPIAN = (51.0, 42.0)  # a point in the Caspian Sea (lon, lat)

_INSERT = (
    "INSERT INTO basemap_features (layer, name, name_ru, kind, rank, minzoom, value, geom, "
    "source) VALUES (%s, %s, %s, %s, %s, %s, %s, "
    "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), %s)"
)


def load_context(conn: psycopg.Connection, features: Iterable[ContextFeature]) -> int:
    """Replace the towns, lakes, rivers and peaks with ``features``; returns their count."""
    rows = [
        (f.layer, f.name, f.name_ru, f.kind, f.rank, f.minzoom, f.value, json.dumps(f.geometry))
        for f in features
    ]
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM basemap_features WHERE layer = ANY(%s) AND source = %s",
            (list(CONTEXT_LAYERS), NE_CONTEXT_SOURCE),
        )
        cur.executemany(_INSERT, [(*r, NE_CONTEXT_SOURCE) for r in rows])
    return len(rows)


def load_roads(conn: psycopg.Connection, roads: Iterable[ContextFeature], source: str) -> int:
    """Replace the basemap's roads with ``roads`` (from one OSM extract); returns their count."""
    rows = [
        (f.layer, f.name, f.name_ru, f.kind, f.rank, f.minzoom, f.value, json.dumps(f.geometry))
        for f in roads
    ]
    with conn.cursor() as cur:
        cur.execute("DELETE FROM basemap_features WHERE layer = 'road'")
        cur.executemany(_INSERT, [(*r, source) for r in rows])
    return len(rows)


def _land_sql(simplify: float, vertices: int, minzoom: int, maxzoom: int) -> str:
    geom = f"ST_SimplifyPreserveTopology(geom, {simplify})" if simplify else "geom"
    return (
        "INSERT INTO basemap_features (layer, kind, minzoom, maxzoom, geom, source) "
        f"SELECT 'land', iso_a3, {minzoom}, {maxzoom}, ST_Subdivide({geom}, {vertices}), source "
        "FROM countries; "
        "INSERT INTO basemap_features (layer, kind, minzoom, maxzoom, geom, source) "
        f"SELECT 'country_line', iso_a3, {minzoom}, {maxzoom}, "
        f"ST_Subdivide(ST_Boundary({geom}), {vertices}), source FROM countries"
    )


Names = dict[tuple[str, str], tuple[str, str]]  # (layer, key) → (English, Russian)


def derive_from_countries(conn: psycopg.Connection, names: Names) -> None:
    """Rebuild land, outlines, the Caspian and the label points from ``countries``.

    ``names`` (basemap_names.csv): ('country', ISO3) and ('sea', 'Caspian Sea') are used here.
    """
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM basemap_features WHERE layer = ANY(%s) OR (layer = 'water' AND "
            "source = %s)",
            (list(DERIVED_LAYERS), NE_SOURCE),
        )
        cur.execute(_land_sql(0.01, 512, 0, LOW_MAXZOOM))
        cur.execute(_land_sql(0.0, 256, LOW_MAXZOOM + 1, 24))
        # holes of the union that the countries enclose: the Caspian (the only large one)
        cur.execute(
            "INSERT INTO basemap_features (layer, name, name_ru, kind, rank, minzoom, geom, "
            "source) SELECT 'water', CASE WHEN ST_Contains(r.geom, ST_SetSRID(ST_MakePoint("
            "%(lon)s, %(lat)s), 4326)) THEN 'Caspian Sea' ELSE '' END, NULL, 'Sea', 0, "
            "%(minzoom)s, ST_MakePolygon(ST_ExteriorRing(r.geom)), %(source)s FROM ("
            "SELECT (ST_DumpRings((ST_Dump(ST_Union(geom))).geom)).* FROM countries) r "
            "WHERE r.path[1] > 0 AND ST_Area(r.geom) > 5",
            {
                "lon": CASPIAN[0],
                "lat": CASPIAN[1],
                "minzoom": lake_minzoom(0),
                "source": NE_SOURCE,
            },
        )
        cur.execute(
            "UPDATE basemap_features SET name_ru = %s WHERE layer = 'water' AND "
            "name = 'Caspian Sea'",
            (names.get(("sea", "Caspian Sea"), ("", None))[1],),
        )
        _label_points(cur, names)


def _label_points(cur: psycopg.Cursor, names: Names) -> None:
    """Country labels at the centre of each country's largest part; lake and sea labels at
    the centre of their largest inscribed circle."""
    cur.executemany(
        "INSERT INTO basemap_features (layer, name, name_ru, kind, rank, minzoom, geom, source) "
        "SELECT 'country_label', %s, %s, iso_a3, 0, 3, (ST_MaximumInscribedCircle(("
        "SELECT d.geom FROM ST_Dump(ST_SimplifyPreserveTopology(c.geom, 0.01)) d "
        "ORDER BY ST_Area(d.geom) DESC LIMIT 1))).center, source "
        "FROM countries c WHERE iso_a3 = %s",
        [(*_country_name(iso, name, names), iso) for iso, name in _countries(cur)],
    )
    cur.execute(
        "INSERT INTO basemap_features (layer, name, name_ru, kind, rank, minzoom, geom, source) "
        "SELECT 'water_label', name, name_ru, kind, rank, minzoom, (ST_MaximumInscribedCircle("
        "(SELECT d.geom FROM ST_Dump(geom) d ORDER BY ST_Area(d.geom) DESC LIMIT 1)))"
        ".center, source FROM basemap_features WHERE layer = 'water' AND name <> ''"
    )


def _countries(cur: psycopg.Cursor) -> list[tuple[str, str]]:
    cur.execute("SELECT iso_a3, name FROM countries ORDER BY iso_a3")
    return [(str(iso), str(name)) for iso, name in cur.fetchall()]


def _country_name(iso: str, name: str, names: Names) -> tuple[str, str | None]:
    """(English label, Russian label): the short names of basemap_names.csv, else the data's."""
    en, ru = names.get(("country", iso), ("", ""))
    return en or name, ru or None


def basemap_counts(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT layer, count(*) FROM basemap_features GROUP BY layer ORDER BY layer"
    ).fetchall()
    return {str(layer): int(n) for layer, n in rows}


# --- tiles -------------------------------------------------------------------------------

_PROPS = "name, name_ru, kind, rank, minzoom"
_FIELDS = ("name", "name_ru", "kind", "rank", "minzoom")
_FROM = "FROM basemap_features WHERE geom && {env} AND layer = "
# MVT layer → (SELECT geom, attributes … ({env}: the tile's 4326 envelope), the attributes)
TILE_LAYERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "land": (
        f"SELECT geom, kind {_FROM}'land' AND %(dz)s BETWEEN minzoom AND maxzoom",
        ("kind",),
    ),
    "water": (f"SELECT geom, name, name_ru, kind {_FROM}'water'", ("name", "name_ru", "kind")),
    "rivers": (f"SELECT geom, {_PROPS} {_FROM}'river' AND minzoom <= %(dz)s", _FIELDS),
    "roads": (f"SELECT geom, {_PROPS} {_FROM}'road' AND minzoom <= %(dz)s", _FIELDS),
    "country_lines": (
        f"SELECT geom, kind {_FROM}'country_line' AND %(dz)s BETWEEN minzoom AND maxzoom",
        ("kind",),
    ),
    "borders": ("SELECT geom, code, a, b FROM borders WHERE geom && {env}", ("code", "a", "b")),
    "countries": (f"SELECT geom, {_PROPS} {_FROM}'country_label'", _FIELDS),
    "water_labels": (
        f"SELECT geom, {_PROPS} {_FROM}'water_label' AND minzoom <= %(dz)s",
        _FIELDS,
    ),
    "places": (
        f"SELECT geom, {_PROPS}, value {_FROM}'place' AND minzoom <= %(dz)s",
        (*_FIELDS, "value"),
    ),
    "peaks": (
        f"SELECT geom, {_PROPS}, value {_FROM}'peak' AND minzoom <= %(dz)s",
        (*_FIELDS, "value"),
    ),
    # crossing points and dry ports of the reference places: the Russian label is their first
    # two Cyrillic alternative names, the English one the name without "road BCP …"
    "crossings": (
        "SELECT geom, regexp_replace(name, ' (road|rail) BCP.*$', '') AS name, "
        "(SELECT string_agg(a, ' / ') FROM (SELECT a FROM unnest(alt_names) WITH ORDINALITY "
        "u(a, i) WHERE a ~ '[А-Яа-яЁё]' ORDER BY i LIMIT 2) c) AS name_ru, kind, "
        f"{CROSSINGS_MINZOOM} AS minzoom FROM places WHERE kind = ANY(%(crossing_kinds)s) "
        f"AND geom && {{env}} AND %(dz)s >= {CROSSINGS_MINZOOM}",
        ("name", "name_ru", "kind", "minzoom"),
    ),
}
TILE_TABLES = ("basemap_features", "borders", "places")


def _layer_sql(name: str, source: str, fields: tuple[str, ...]) -> str:
    env = f"ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {BUFFER / EXTENT}), 4326)"
    cols = ", ".join(f"s.{f}" for f in fields)
    return (
        f"coalesce((SELECT ST_AsMVT(t.*, '{name}', {EXTENT}, 'geom') FROM ("
        f"SELECT ST_AsMVTGeom(ST_Transform(s.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), "
        f"{EXTENT}, {BUFFER}, true) AS geom, {cols} FROM ({source.replace('{env}', env)}) s) t "
        "WHERE t.geom IS NOT NULL), ''::bytea)"
    )


def tile_sql() -> str:
    """One query whose single value is the basemap tile: the layers' MVTs concatenated."""
    return "SELECT " + " || ".join(_layer_sql(n, s, f) for n, (s, f) in TILE_LAYERS.items())


async def render_basemap_tile(
    conn: psycopg.AsyncConnection, z: int, x: int, y: int, display_zoom: int
) -> bytes:
    cur = await conn.execute(
        tile_sql(),
        {"z": z, "x": x, "y": y, "dz": display_zoom, "crossing_kinds": list(CROSSING_KINDS)},
    )
    row = await cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
