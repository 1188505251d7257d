"""``geomon basemap import-osm``: the ways with a highway tag of a small .osm file (written
here) go into the basemap with their class, name and Russian name, and show in its tiles from
the zoom of their class; a second import replaces the first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import mercantile
import psycopg
import pytest
from typer.testing import CliRunner

from geomon.cli.basemap import app
from geomon.osm_roads import road_minzoom
from geomon.store.basemap import render_basemap_tile
from tests.conftest import create_database, drop_database, prepare_database

KHOROG = (71.55, 37.49)
OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="geomon test">
  <node id="1" lat="37.4900" lon="71.5500" version="1"/>
  <node id="2" lat="37.5000" lon="71.5700" version="1"/>
  <node id="3" lat="37.5200" lon="71.5800" version="1"/>
  <node id="4" lat="37.4800" lon="71.6000" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="name" v="Pamir Highway"/>
    <tag k="name:ru" v="Памирский тракт"/></way>
  <way id="11" version="1"><nd ref="2"/><nd ref="4"/><tag k="highway" v="track"/></way>
  <way id="12" version="1"><nd ref="1"/><nd ref="4"/><tag k="waterway" v="stream"/></way>
</osm>
"""


@pytest.fixture(scope="module")
def osm_db(pg_base_url: str) -> Iterator[str]:
    url = create_database(pg_base_url, "geomon_osm")
    try:
        prepare_database(url)
        yield url
    finally:
        drop_database(pg_base_url, url)


def _import(url: str, path: Path) -> str:
    result = CliRunner().invoke(app, ["import-osm", str(path)], env={"GEOMON_DB__URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def _tile(url: str, z: int) -> bytes:
    t = mercantile.tile(*KHOROG, z)

    async def render() -> bytes:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await render_basemap_tile(conn, z, t.x, t.y, z + 1)

    return asyncio.run(render())


def test_import_osm_roads_into_the_basemap(osm_db: str, tmp_path: Path) -> None:
    path = tmp_path / "khorog.osm"
    path.write_text(OSM, encoding="utf-8")
    assert "roads: 2" in _import(osm_db, path)  # the stream is no road
    with psycopg.connect(osm_db) as conn:
        rows = conn.execute(
            "SELECT kind, name, name_ru, minzoom, ST_NPoints(geom) FROM basemap_features "
            "WHERE layer = 'road' ORDER BY kind"
        ).fetchall()
    assert rows == [
        ("primary", "Pamir Highway", "Памирский тракт", road_minzoom("primary"), 3),
        ("track", "", None, road_minzoom("track"), 2),
    ]
    assert "Памирский тракт".encode() in _tile(osm_db, 10)  # display zoom 11: both
    assert "Памирский тракт".encode() in _tile(osm_db, 5)  # display zoom 6: primary roads
    assert b"track" not in _tile(osm_db, 5) and b"track" in _tile(osm_db, 10)
    assert "roads: 2" in _import(osm_db, path)  # a second import replaces, never adds
    with psycopg.connect(osm_db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM basemap_features WHERE layer = 'road'"
        ).fetchone() == (2,)


def test_import_osm_refuses_a_missing_file(osm_db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["import-osm", str(tmp_path / "none.osm")], env={"GEOMON_DB__URL": osm_db}
    )
    assert result.exit_code != 0
