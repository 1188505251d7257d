"""layer_versions: track forecast runs and their cells (OGC collections and tiles of a run)

``forecasts-RUN`` is served as an OGC collection and as vector tiles, whose page and tile
caches key on the change counters of the tables they read (api/ogc/page_cache.py,
tiles/cache.py). A run's cells are written when the worker finishes, after the run row was
created as ``queued``: without counters a page read in between would stay cached empty.
Same statement triggers as migration 0006.

Revision ID: 0035
Revises: 0026
"""

from __future__ import annotations

from alembic import op

revision = "0035"
down_revision = "0026"
branch_labels = None
depends_on = None

TABLES = ("forecast_runs", "forecast_cells")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"INSERT INTO layer_versions (table_name, version) VALUES ('{table}', 1) "
            "ON CONFLICT (table_name) DO NOTHING"
        )
        op.execute(
            f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_layer_version_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version ON {table}")
        op.execute(f"DELETE FROM layer_versions WHERE table_name = '{table}'")
