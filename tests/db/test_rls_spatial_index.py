"""Spatial filters under row-level security use the GiST indexes (&& declared LEAKPROOF by the
superuser step of scripts/dev-db; docs/security.md "Spatial filters under RLS"), and the rows
they return are still only the caller's."""

from __future__ import annotations

from collections.abc import Iterator

import mercantile
import psycopg
import pytest

from geomon.store import features
from tests.helpers.agency_data import AgencyData, seed_agency


@pytest.fixture(scope="module")
def agencies(db_url: str) -> tuple[AgencyData, AgencyData]:
    with psycopg.connect(db_url) as conn:
        if not conn.execute(
            "SELECT proleakproof FROM pg_proc WHERE oid = "
            "'geometry_overlaps(geometry, geometry)'::regprocedure"
        ).fetchone()[0]:
            pytest.skip(
                "&& is not LEAKPROOF in this database: run scripts/dev-db as root "
                "(or the ALTER FUNCTION of docs/security.md as a superuser)"
            )
        return seed_agency(conn, 0), seed_agency(conn, 1)


@pytest.fixture
def app_conn(
    app_db_url: str, agencies: tuple[AgencyData, AgencyData]
) -> Iterator[psycopg.Connection]:
    with psycopg.connect(app_db_url) as c:
        c.execute(
            "SELECT set_config('geomon.system', 'off', true), "
            "set_config('geomon.agency_id', %s, true), "
            "set_config('geomon.role', 'viewer', true), "
            "set_config('enable_seqscan', 'off', true)",  # small tables: force the choice
            (str(agencies[0].agency_id),),
        )
        yield c


def _index_conds(conn: psycopg.Connection, query: str, params: dict[str, object]) -> list[str]:
    """Every Index Cond of the plan of ``query`` (as the app role, seq scans off)."""
    plan = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()[0]  # type: ignore[index,arg-type]
    out: list[str] = []

    def walk(node: dict[str, object]) -> None:
        if "Index Cond" in node:
            out.append(str(node["Index Cond"]))
        for child in node.get("Plans", []):  # type: ignore[union-attr]
            walk(child)  # type: ignore[arg-type]

    walk(plan[0]["Plan"])
    return out


def test_ogc_bbox_filter_uses_the_gist_index_and_sees_only_own_rows(
    app_conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    spec = features.STATIC["incidents"]
    params: dict[str, object] = {}
    where = " AND ".join(features._where(spec, features.ItemQuery(((-180, -90, 180, 90),)), params))
    query = f"SELECT s.source FROM ({spec.source}) s WHERE {where}"
    assert any("geom &&" in c for c in _index_conds(app_conn, query, params))
    sources = {r[0] for r in app_conn.execute(query, params).fetchall()}  # type: ignore[arg-type]
    a, b = agencies
    assert any(a.canary in s for s in sources) and not any(b.canary in s for s in sources)


def test_tile_envelope_filter_on_positions_uses_the_gist_index(
    app_conn: psycopg.Connection, agencies: tuple[AgencyData, AgencyData]
) -> None:
    a, b = agencies
    tile = mercantile.tile(a.lon, a.lat, 12)
    env = "ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625), 4326)"
    query = f"SELECT p.device_id FROM positions p WHERE p.valid AND p.geom && {env}"
    params: dict[str, object] = {"z": tile.z, "x": tile.x, "y": tile.y}
    assert any("geom &&" in c for c in _index_conds(app_conn, query, params))
    seen = {r[0] for r in app_conn.execute(query, params).fetchall()}  # type: ignore[arg-type]
    assert seen == {a.ids["device"]}
