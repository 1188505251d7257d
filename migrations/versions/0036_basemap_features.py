"""basemap_features: the offline basemap's context layers in PostGIS

Towns, lakes, rivers and peaks (Natural Earth 1:10m with Russian names) and what the loader
derives from ``countries`` (land pieces subdivided for tile queries, country outlines, the
Caspian, label points), each row with the zoom range it is drawn at. Public reference data
like ``countries``: no agency, no row-level security; the application role reads it.
A ``layer_versions`` counter (statement triggers, migration 0006) keys cached basemap tiles.

Revision ID: 0036
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0036"
down_revision = "0038"
branch_labels = None
depends_on = None

APP_ROLE = "geomon_app"
TABLE = "basemap_features"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "layer",
            sa.Text(),
            nullable=False,
            comment="land, country_line, country_label, water, water_label, river, place, peak",
        ),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "name_ru",
            sa.Text(),
            nullable=True,
            comment="Russian name where the data or basemap_names.csv has it",
        ),
        sa.Column(
            "kind", sa.Text(), server_default="", nullable=False, comment="NE class, or ISO3"
        ),
        sa.Column(
            "rank", sa.Float(), server_default=sa.text("10"), nullable=False, comment="NE scalerank"
        ),
        sa.Column("minzoom", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("maxzoom", sa.SmallInteger(), server_default=sa.text("24"), nullable=False),
        sa.Column(
            "value",
            sa.Float(),
            nullable=True,
            comment="population of a town, elevation of a peak (m)",
        ),
        sa.Column(
            "geom",
            Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basemap_features")),
        comment="Offline basemap context (public reference data, no agency).",
    )
    op.create_index("ix_basemap_features_geom", TABLE, ["geom"], postgresql_using="gist")
    op.create_index("ix_basemap_features_layer", TABLE, ["layer"])
    op.execute(f"GRANT SELECT ON {TABLE} TO {APP_ROLE}")
    op.execute(f"INSERT INTO layer_versions (table_name, version) VALUES ('{TABLE}', 1)")
    op.execute(
        f"CREATE TRIGGER {TABLE}_layer_version AFTER INSERT OR UPDATE OR DELETE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_layer_version_truncate AFTER TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION geomon_bump_layer_version()"
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM layer_versions WHERE table_name = '{TABLE}'")
    op.drop_index("ix_basemap_features_layer", table_name=TABLE)
    op.drop_index("ix_basemap_features_geom", table_name=TABLE)
    op.drop_table(TABLE)
