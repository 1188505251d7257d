"""initial schema

Generated with `alembic revision --autogenerate` from geomon.store.schema, then adjusted:
the PostGIS extension, and the DEFAULT partition of positions (a fix for a month with no
partition yet is stored there; geomon.store.partitions moves it into its month later).

Revision ID: 0001
Revises:
Create Date: 2026-11-28 16:25:53.924157
"""

from __future__ import annotations

import sqlalchemy as sa
import geoalchemy2
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False, comment="Short code, e.g. KGZ-BS"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "country", sa.Text(), nullable=True, comment="ISO 3166-1 alpha-3 of the agency's state"
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("code", name=op.f("uq_agencies_code")),
    )
    op.create_geospatial_table(
        "borders",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False, comment="ISO3 pair, e.g. AFG-TJK"),
        sa.Column("a", sa.Text(), nullable=False),
        sa.Column("b", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borders")),
        sa.UniqueConstraint("code", name=op.f("uq_borders_code")),
    )
    op.create_geospatial_index(
        "ix_borders_geom",
        "borders",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "countries",
        sa.Column("iso_a3", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("iso_a3", name=op.f("pk_countries")),
    )
    op.create_geospatial_index(
        "ix_countries_geom",
        "countries",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "ingest_rejects",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("protocol", sa.Text(), nullable=False),
        sa.Column("device_uid", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_rejects")),
        comment="Rows that made a batch fail, isolated so the rest of the batch is written.",
    )
    op.create_geospatial_table(
        "places",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "alt_names", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "kind", sa.Text(), nullable=False, comment="road_bcp, rail_bcp, dry_port, office…"
        ),
        sa.Column(
            "countries", sa.Text(), server_default="", nullable=False, comment="e.g. KAZ-KGZ"
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "accuracy_m",
            sa.Float(),
            nullable=True,
            comment="How far the point may be from the real site",
        ),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
        sa.UniqueConstraint("name", name=op.f("uq_places_name")),
    )
    op.create_geospatial_index(
        "ix_places_geom",
        "places",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("uid", sa.Text(), nullable=False, comment="IMEI, phone id or configured id"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "token_hash",
            sa.Text(),
            nullable=True,
            comment="Hash of the per-device ingest token (HTTP/MQTT)",
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('tracker', 'phone', 'serial-gps', 'sensor')", name=op.f("ck_devices_kind")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_devices_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("uid", name=op.f("uq_devices_uid")),
    )
    op.create_table(
        "hotspot_runs",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="gistar, ehsa, kde, dbscan"),
        sa.Column("status", sa.Text(), server_default="done", nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("input_filter", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("crs", sa.Text(), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=True),
        sa.Column("n_cells", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("created_by", sa.Text(), server_default="", nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("surface_path", sa.Text(), nullable=True, comment="GeoTIFF of a kde run"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_hotspot_runs_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_runs")),
    )
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False, comment="seizure, detention, detection…"),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True, comment="kg, g, l, pieces, persons…"),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_incidents_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_geospatial_index(
        "ix_incidents_geom",
        "incidents",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_incidents_occurred_at", "incidents", ["occurred_at"], unique=False)
    op.create_geospatial_table(
        "surfaces",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind", sa.Text(), nullable=False, comment="kde, risk, cost, accumulated, corridor"
        ),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("path", sa.Text(), nullable=False, comment="GeoTIFF file"),
        sa.Column("crs", sa.Text(), nullable=False),
        sa.Column("units", sa.Text(), server_default="", nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "bounds",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_surfaces_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surfaces")),
    )
    op.create_geospatial_table(
        "zones",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "kind", sa.Text(), nullable=False, comment="crossing_point, border_strip, restricted…"
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_zones_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("agency_id", "name", name=op.f("uq_zones_agency_id_name")),
    )
    op.create_geospatial_index(
        "ix_zones_geom", "zones", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "corridors",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("surface_id", sa.Integer(), nullable=True),
        sa.Column("rank", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("n_cells", sa.Integer(), nullable=True),
        sa.Column("total_cost", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "path",
            Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_corridors_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["surface_id"],
            ["surfaces.id"],
            name=op.f("fk_corridors_surface_id_surfaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corridors")),
    )
    op.create_geospatial_index(
        "ix_corridors_geom",
        "corridors",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "device_latest",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("fix_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("course_deg", sa.Float(), nullable=True),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_latest_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_latest")),
    )
    op.create_geospatial_index(
        "ix_device_latest_geom",
        "device_latest",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Text(),
            nullable=False,
            comment="zone_enter, zone_exit, border_cross, silent…",
        ),
        sa.Column("severity", sa.Text(), server_default="info", nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("state", sa.Text(), server_default="new", nullable=False),
        sa.Column(
            "dedupe_key", sa.Text(), nullable=True, comment="One open event per device/zone/kind"
        ),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "severity IN ('info', 'warning', 'critical')", name=op.f("ck_events_severity")
        ),
        sa.CheckConstraint(
            "state IN ('new', 'acknowledged', 'resolved')", name=op.f("ck_events_state")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_events_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_events_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_events_zone_id_zones"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"], unique=False)
    op.create_index(
        "uq_events_open_dedupe",
        "events",
        ["dedupe_key"],
        unique=True,
        postgresql_where=sa.text("state <> 'resolved' AND dedupe_key IS NOT NULL"),
    )
    op.create_geospatial_table(
        "hotspot_cells",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("cell_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("z", sa.Float(), nullable=True),
        sa.Column("p", sa.Float(), nullable=True),
        sa.Column("gi_bin", sa.SmallInteger(), nullable=True),
        sa.Column("gi_bin_fdr", sa.SmallInteger(), nullable=True),
        sa.Column("p_sim", sa.Float(), nullable=True),
        sa.Column("trend_z", sa.Float(), nullable=True),
        sa.Column("trend_p", sa.Float(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["hotspot_runs.id"],
            name=op.f("fk_hotspot_cells_run_id_hotspot_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "cell_id", name=op.f("pk_hotspot_cells")),
    )
    op.create_geospatial_index(
        "ix_hotspot_cells_geom",
        "hotspot_cells",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "observations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sensor_id"], ["devices.id"], name=op.f("fk_observations_sensor_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint(
            "sensor_id",
            "observed_at",
            "kind",
            name=op.f("uq_observations_sensor_id_observed_at_kind"),
        ),
    )
    op.create_geospatial_index(
        "ix_observations_geom",
        "observations",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_observations_observed_at", "observations", ["observed_at"], unique=False)
    op.create_geospatial_table(
        "positions",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("fix_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("course_deg", sa.Float(), nullable=True),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.Column("hdop", sa.Float(), nullable=True),
        sa.Column("satellites", sa.SmallInteger(), nullable=True),
        sa.Column("valid", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("protocol", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_positions_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("device_id", "fix_time", name=op.f("pk_positions")),
        postgresql_partition_by="RANGE (fix_time)",
    )
    op.create_index("ix_positions_fix_time", "positions", ["fix_time"], unique=False)
    op.create_geospatial_index(
        "ix_positions_geom",
        "positions",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.execute("CREATE TABLE positions_default PARTITION OF positions DEFAULT")
    # geoalchemy2's create_geospatial_table drops table comments
    op.create_table_comment(
        "device_latest",
        "Each device's newest fix by fix_time; late data never moves it backwards.",
    )


def downgrade() -> None:
    # Monthly partitions are created by the application; drop them with their parent.
    op.execute(
        "DO $$ DECLARE r record; BEGIN "
        "FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'positions' LOOP "
        "EXECUTE format('DROP TABLE %I', r.relname); END LOOP; END $$"
    )
    op.drop_geospatial_index(
        "ix_positions_geom", table_name="positions", postgresql_using="gist", column_name="geom"
    )
    op.drop_index("ix_positions_fix_time", table_name="positions")
    op.drop_geospatial_table("positions")
    op.drop_index("ix_observations_observed_at", table_name="observations")
    op.drop_geospatial_index(
        "ix_observations_geom",
        table_name="observations",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("observations")
    op.drop_geospatial_index(
        "ix_hotspot_cells_geom",
        table_name="hotspot_cells",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("hotspot_cells")
    op.drop_index(
        "uq_events_open_dedupe",
        table_name="events",
        postgresql_where=sa.text("state <> 'resolved' AND dedupe_key IS NOT NULL"),
    )
    op.drop_index("ix_events_occurred_at", table_name="events")
    op.drop_geospatial_table("events")
    op.drop_geospatial_index(
        "ix_device_latest_geom",
        table_name="device_latest",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("device_latest")
    op.drop_geospatial_index(
        "ix_corridors_geom", table_name="corridors", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("corridors")
    op.drop_geospatial_index(
        "ix_zones_geom", table_name="zones", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("zones")
    op.drop_geospatial_table("surfaces")
    op.drop_index("ix_incidents_occurred_at", table_name="incidents")
    op.drop_geospatial_index(
        "ix_incidents_geom", table_name="incidents", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("incidents")
    op.drop_table("hotspot_runs")
    op.drop_table("devices")
    op.drop_geospatial_index(
        "ix_places_geom", table_name="places", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("places")
    op.drop_table("ingest_rejects")
    op.drop_geospatial_index(
        "ix_countries_geom", table_name="countries", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("countries")
    op.drop_geospatial_index(
        "ix_borders_geom", table_name="borders", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("borders")
    op.drop_table("agencies")
