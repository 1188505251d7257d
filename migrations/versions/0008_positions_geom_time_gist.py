"""positions: one GiST index over (geom, fix_time) instead of (geom); events: GiST on geom

Tile and track queries ask for "fixes in this box since that time". Under row-level security
only LEAKPROOF conditions can be index conditions (docs/security.md, "Spatial filters under
RLS"); with && declared LEAKPROOF, a GiST index over both columns answers both conditions in
the index: a z6 tracks tile of bench/api.py read 26,000 of the last two days' fixes through the
fix_time index, or 450,000 fixes of 30 days through the (geom) index. The two-column index
replaces the (geom) one (serving geom-only filters as its first column), so ingest maintains
as many indexes as before. btree_gist (a trusted contrib extension: the database owner may
create it) gives timestamptz a GiST operator class. events had no spatial index at all: its
tiles and OGC bbox pages scanned every event (13 ms for a 2-degree box over 10,000 events).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_index(
        "ix_positions_geom_fix_time", "positions", ["geom", "fix_time"], postgresql_using="gist"
    )
    op.drop_index("ix_positions_geom", table_name="positions")
    op.create_index("ix_events_geom", "events", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("ix_events_geom", table_name="events")
    op.create_index("ix_positions_geom", "positions", ["geom"], postgresql_using="gist")
    op.drop_index("ix_positions_geom_fix_time", table_name="positions")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
