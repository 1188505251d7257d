"""Migrations go from empty to head and back to empty, and head matches the metadata."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool

from geomon.store import migrate
from geomon.store.migrate import include_object
from geomon.store.schema import metadata

OUR_TABLES = set(metadata.tables)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows} - {"spatial_ref_sys"}


def test_upgrade_then_downgrade_to_empty(empty_db_url: str) -> None:
    assert _tables(empty_db_url) == set()
    migrate.upgrade(empty_db_url)
    tables = _tables(empty_db_url)
    assert tables >= OUR_TABLES
    assert "positions_default" in tables
    migrate.downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == {"alembic_version"}
    migrate.upgrade(empty_db_url)
    assert _tables(empty_db_url) >= OUR_TABLES


def test_head_matches_metadata(db_url: str) -> None:
    engine = create_engine(migrate.sqlalchemy_url(db_url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        ctx = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        diffs = compare_metadata(ctx, metadata)
    engine.dispose()
    assert diffs == []


def test_positions_is_partitioned_with_unique_key_and_gist(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'positions'::regclass"
    ).fetchone()
    assert row == ("r",)
    idx = dict(
        conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'positions'"
        ).fetchall()
    )
    assert "(device_id, fix_time)" in idx["pk_positions"]
    assert "USING gist (geom, fix_time)" in idx["ix_positions_geom_fix_time"]


def test_events_geometries_have_a_gist_index(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_events_geom'"
    ).fetchone()
    assert row is not None and "USING gist (geom)" in row[0]
