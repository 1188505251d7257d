"""tile cache: layer_versions change counters bumped by statement triggers

One row per table behind a map layer; an AFTER INSERT/UPDATE/DELETE/TRUNCATE statement trigger
bumps it in the writer's transaction, so readers see the new counter exactly when they can see
the new rows. The trigger function is SECURITY DEFINER (writers under row-level security, such
as the API's geomon_app role, cannot write the table themselves); everyone may read it.

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

TRACKED = (
    "positions",
    "device_latest",
    "devices",
    "incidents",
    "zones",
    "borders",
    "places",
    "events",
    "observations",
    "hotspot_runs",
    "hotspot_cells",
    "corridors",
    "surfaces",
)

BUMP = """
CREATE FUNCTION geomon_bump_layer_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO layer_versions (table_name, version, changed_at) VALUES (TG_TABLE_NAME, 1, now())
  ON CONFLICT (table_name) DO UPDATE
    SET version = layer_versions.version + 1, changed_at = now();
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "layer_versions",
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_layer_versions")),
        comment="Change counter per table for tile-cache invalidation (statement triggers).",
    )
    op.execute(BUMP)
    op.execute("REVOKE ALL ON FUNCTION geomon_bump_layer_version() FROM PUBLIC")
    for table in TRACKED:
        op.execute(f"INSERT INTO layer_versions (table_name, version) VALUES ('{table}', 1)")
        op.execute(
            f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_layer_version_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
        )
    op.execute("GRANT SELECT ON layer_versions TO PUBLIC")


def downgrade() -> None:
    for table in TRACKED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS geomon_bump_layer_version()")
    op.drop_table("layer_versions")
