"""layer_versions: track agencies too (OGC pages are cached under their tables' counters)

The OGC items pages of zones, incidents, events and latest positions show each row's agency
code, so api/ogc/page_cache.py keys them on the agencies counter as well: renaming an agency
must miss. Same statement triggers as migration 0006.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO layer_versions (table_name, version) VALUES ('agencies', 1) "
        "ON CONFLICT (table_name) DO NOTHING"
    )
    op.execute(
        "CREATE TRIGGER agencies_layer_version AFTER INSERT OR UPDATE OR DELETE "
        "ON agencies FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
    )
    op.execute(
        "CREATE TRIGGER agencies_layer_version_truncate AFTER TRUNCATE ON agencies "
        "FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS agencies_layer_version_truncate ON agencies")
    op.execute("DROP TRIGGER IF EXISTS agencies_layer_version ON agencies")
    op.execute("DELETE FROM layer_versions WHERE table_name = 'agencies'")
