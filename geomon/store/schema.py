"""The schema, defined once as SQLAlchemy + GeoAlchemy2 metadata (DESIGN.md section 3).

Alembic migrations are written from this metadata and a test checks the migrated database
against it. All geometries are EPSG:4326. ``positions`` is range-partitioned by ``fix_time``
(monthly partitions plus a DEFAULT partition, see :mod:`geomon.store.partitions`).
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

DEVICE_KINDS = ("tracker", "phone", "serial-gps", "sensor")
EVENT_STATES = ("new", "acknowledged", "resolved")
SEVERITIES = ("info", "warning", "critical")


def _created_at() -> Column[Any]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _attrs() -> Column[Any]:
    return Column("attrs", JSONB, nullable=False, server_default=text("'{}'::jsonb"))


def _point(nullable: bool = False) -> Column[Any]:
    return Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=nullable)


agencies = Table(
    "agencies",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True, comment="Short code, e.g. KGZ-BS"),
    Column("name", Text, nullable=False),
    Column("country", Text, comment="ISO 3166-1 alpha-3 of the agency's state"),
    _created_at(),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("uid", Text, nullable=False, unique=True, comment="IMEI, phone id or configured id"),
    Column("kind", Text, nullable=False),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("token_hash", Text, comment="Hash of the per-device ingest token (HTTP/MQTT)"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _attrs(),
    _created_at(),
    Column(
        "place_id",
        Integer,
        ForeignKey("places.id", ondelete="SET NULL"),
        comment="A fixed sensor's post (a BCP from places); its observations take its point",
    ),
    _point(nullable=True),
    CheckConstraint(f"kind IN {DEVICE_KINDS!r}", name="kind"),
)

positions = Table(
    "positions",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("fix_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _point(),
    Column("speed_mps", Float),
    Column("course_deg", Float),
    Column("altitude_m", Float),
    Column("hdop", Float),
    Column("satellites", SmallInteger),
    Column("valid", Boolean, nullable=False, server_default=text("true")),
    Column("protocol", Text, nullable=False, server_default=""),
    _attrs(),
    Column("raw", LargeBinary),
    PrimaryKeyConstraint("device_id", "fix_time"),
    # (geom, fix_time): "in this box since then" in the index (btree_gist; migration 0008)
    Index("ix_positions_geom_fix_time", "geom", "fix_time", postgresql_using="gist"),
    Index("ix_positions_fix_time", "fix_time"),
    postgresql_partition_by="RANGE (fix_time)",
)

# One row per device and UTC day with valid fixes: the envelope of those fixes, kept by a
# statement trigger on positions (migration 0030); OGC tracks pages filter it first.
track_days = Table(
    "track_days",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("extent", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Column(
        "t_lo",
        DateTime(timezone=True),
        Computed("day::timestamp AT TIME ZONE 'UTC'", persisted=True),
    ),
    Column(
        "t_hi",
        DateTime(timezone=True),
        Computed("(day + 1)::timestamp AT TIME ZONE 'UTC'", persisted=True),
    ),
    PrimaryKeyConstraint("device_id", "day"),
    Index("ix_track_days_extent", "extent", postgresql_using="gist"),
)

device_latest = Table(
    "device_latest",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("fix_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    _point(),
    Column("speed_mps", Float),
    Column("course_deg", Float),
    Column("altitude_m", Float),
    Column("valid", Boolean, nullable=False),
    _attrs(),
    Column(
        "valid_fixes",
        BigInteger,
        nullable=False,
        server_default="0",
        comment="Valid fixes stored by the batch writer (a counter; compared as differences)",
    ),
    Index("ix_device_latest_geom", "geom", postgresql_using="gist"),
    comment="Each device's newest fix by fix_time; late data never moves it backwards.",
)

observations = Table(
    "observations",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("sensor_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", Text, nullable=False),
    Column("value", Float),
    Column("text", Text),
    _point(nullable=True),
    _attrs(),
    Column("raw", LargeBinary),
    Column("plate_norm", Text, comment="Normalised plate of a plate_read (NULL: never matched)"),
    Column("plate_country", Text),
    UniqueConstraint("sensor_id", "observed_at", "kind"),
    Index("ix_observations_geom", "geom", postgresql_using="gist"),
    Index("ix_observations_observed_at", "observed_at"),
    Index(
        "ix_observations_plate_norm_observed_at",
        "plate_norm",
        "observed_at",
        postgresql_where=text("plate_norm IS NOT NULL"),
    ),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("category", Text, nullable=False, comment="seizure, detention, detection…"),
    Column("quantity", Float),
    Column("unit", Text, comment="kg, g, l, pieces, persons…"),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    _point(),
    Column("source", Text, nullable=False, server_default=""),
    _attrs(),
    _created_at(),
    Index("ix_incidents_geom", "geom", postgresql_using="gist"),
    Index("ix_incidents_occurred_at", "occurred_at"),
)

countries = Table(
    "countries",
    metadata,
    Column("iso_a3", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("source", Text, nullable=False),
    Index("ix_countries_geom", "geom", postgresql_using="gist"),
)

places = Table(
    "places",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("alt_names", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("kind", Text, nullable=False, comment="road_bcp, rail_bcp, dry_port, office…"),
    Column("countries", Text, nullable=False, server_default="", comment="e.g. KAZ-KGZ"),
    _point(),
    Column("accuracy_m", Float, comment="How far the point may be from the real site"),
    Column("source", Text, nullable=False, server_default=""),
    Column("notes", Text, nullable=False, server_default=""),
    Index("ix_places_geom", "geom", postgresql_using="gist"),
)

borders = Table(
    "borders",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("code", Text, nullable=False, unique=True, comment="ISO3 pair, e.g. AFG-TJK"),
    Column("a", Text, nullable=False),
    Column("b", Text, nullable=False),
    Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
    Column("source", Text, nullable=False),
    Column(
        "accuracy_m",
        Float,
        comment="How far the line may be from the real boundary (border_cross tolerance)",
    ),
    Index("ix_borders_geom", "geom", postgresql_using="gist"),
)

zones = Table(
    "zones",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False, comment="crossing_point, border_strip, restricted…"),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _attrs(),
    _created_at(),
    UniqueConstraint("agency_id", "name"),
    Index("ix_zones_geom", "geom", postgresql_using="gist"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("device_id", Integer, ForeignKey("devices.id")),
    Column("zone_id", Integer, ForeignKey("zones.id", ondelete="SET NULL")),
    Column("kind", Text, nullable=False, comment="zone_enter, zone_exit, border_cross, silent…"),
    Column("severity", Text, nullable=False, server_default="info"),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    _point(nullable=True),
    Column("state", Text, nullable=False, server_default="new"),
    Column("dedupe_key", Text, comment="One open event per device/zone/kind"),
    Column(
        "event_key",
        Text,
        unique=True,
        comment="Deterministic key (kind, device, zone, fix time): replays never duplicate",
    ),
    Column("acknowledged_by", Text),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("resolved_by", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("note", Text),
    Column("assigned_to", Text),
    Column("assigned_at", DateTime(timezone=True)),
    Column("resolution_note", Text),
    _attrs(),
    _created_at(),
    CheckConstraint(f"state IN {EVENT_STATES!r}", name="state"),
    CheckConstraint(f"severity IN {SEVERITIES!r}", name="severity"),
    Index("ix_events_occurred_at", "occurred_at"),
    Index("ix_events_device_id_occurred_at", "device_id", "occurred_at"),
    Index("ix_events_geom", "geom", postgresql_using="gist"),  # tiles, OGC bbox (0008)
    Index(
        "uq_events_open_dedupe",
        "dedupe_key",
        unique=True,
        postgresql_where=text("state <> 'resolved' AND dedupe_key IS NOT NULL"),
    ),
)

ingest_rejects = Table(
    "ingest_rejects",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("protocol", Text, nullable=False),
    Column("device_uid", Text),
    Column("error", Text, nullable=False),
    Column("record", JSONB, nullable=False),
    comment="Rows that made a batch fail, isolated so the rest of the batch is written.",
)

hotspot_runs = Table(
    "hotspot_runs",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("kind", Text, nullable=False, comment="gistar, ehsa, kde, dbscan"),
    Column("status", Text, nullable=False, server_default="done"),
    Column("params", JSONB, nullable=False),
    Column("input_filter", JSONB, nullable=False),
    Column("crs", Text, nullable=False),
    Column("n_points", Integer),
    Column("n_cells", Integer),
    Column("duration_s", Float),
    Column("created_by", Text, nullable=False, server_default=""),
    Column("agency_id", Integer, ForeignKey("agencies.id")),
    Column("surface_path", Text, comment="GeoTIFF of a kde run"),
    Column("error", Text, comment="Why a failed run failed"),
    _created_at(),
)

hotspot_cells = Table(
    "hotspot_cells",
    metadata,
    Column("run_id", Integer, ForeignKey("hotspot_runs.id", ondelete="CASCADE"), nullable=False),
    Column("cell_id", Integer, nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Column("value", Float),
    Column("z", Float),
    Column("p", Float),
    Column("gi_bin", SmallInteger),
    Column("gi_bin_fdr", SmallInteger),
    Column("p_sim", Float),
    Column("trend_z", Float),
    Column("trend_p", Float),
    Column("category", Text),
    PrimaryKeyConstraint("run_id", "cell_id"),
    Index("ix_hotspot_cells_geom", "geom", postgresql_using="gist"),
)

surfaces = Table(
    "surfaces",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("kind", Text, nullable=False, comment="kde, risk, cost, accumulated, corridor"),
    Column("name", Text, nullable=False, server_default=""),
    Column("path", Text, nullable=False, comment="GeoTIFF file"),
    Column("crs", Text, nullable=False),
    Column("units", Text, nullable=False, server_default=""),
    Column("params", JSONB, nullable=False),
    Column("bounds", Geometry("POLYGON", srid=4326, spatial_index=False)),
    Column("agency_id", Integer, ForeignKey("agencies.id")),
    Column("created_by", Text, nullable=False, server_default=""),
    _created_at(),
)

corridors = Table(
    "corridors",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("surface_id", Integer, ForeignKey("surfaces.id", ondelete="SET NULL")),
    Column("rank", SmallInteger, nullable=False, server_default=text("1")),
    Column("params", JSONB, nullable=False),
    Column("threshold", Float),
    Column("n_cells", Integer),
    Column("total_cost", Float),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)),
    Column("path", Geometry("LINESTRING", srid=4326, spatial_index=False)),
    Column("agency_id", Integer, ForeignKey("agencies.id")),
    Column("created_by", Text, nullable=False, server_default=""),
    _created_at(),
    Index("ix_corridors_geom", "geom", postgresql_using="gist"),
)

# --- Access control and audit (issue 6, migration 0003). Row-level security, the
# ``geomon_app`` role and its grants live in that migration (see docs/security.md).

USER_ROLES = ("viewer", "analyst", "admin")
SHARE_SCOPES = (
    "all",
    "positions",
    "observations",
    "incidents",
    "zones",
    "events",
    "analysis",
    "watchlists",
    "entities",
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False, comment="argon2id (PHC string)"),
    Column("role", Text, nullable=False),
    Column("agency_id", Integer, ForeignKey("agencies.id")),
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True)),
    Column("must_change_password", Boolean, nullable=False, server_default=text("false")),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("locale", Text, comment="UI language, e.g. ru; NULL = browser"),
    Column("time_zone", Text, comment="IANA zone for times on the page; NULL = the agency's"),
    _created_at(),
    CheckConstraint(f"role IN {USER_ROLES!r}", name="role"),
    CheckConstraint("role = 'admin' OR agency_id IS NOT NULL", name="agency_required"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("token_hash", Text, nullable=False, unique=True, comment="sha256 hex of the token"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE")),
    Column("label", Text, nullable=False, server_default=""),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    _created_at(),
    CheckConstraint("(user_id IS NULL) <> (device_id IS NULL)", name="one_owner"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("token_hash", Text, nullable=False, unique=True, comment="sha256 hex of the cookie"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True)),
    _created_at(),
)

agency_shares = Table(
    "agency_shares",
    metadata,
    Column(
        "from_agency_id", Integer, ForeignKey("agencies.id", ondelete="CASCADE"), nullable=False
    ),
    Column("to_agency_id", Integer, ForeignKey("agencies.id", ondelete="CASCADE"), nullable=False),
    Column("scope", Text, nullable=False),
    _created_at(),
    PrimaryKeyConstraint("from_agency_id", "to_agency_id", "scope"),
    CheckConstraint(f"scope IN {SHARE_SCOPES!r}", name="scope"),
    CheckConstraint("from_agency_id <> to_agency_id", name="not_self"),
    comment="Agency FROM lets agency TO read its rows of SCOPE (BLOs share across borders).",
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("user_id", Integer),
    Column("username", Text),
    Column("device_id", Integer),
    Column("agency_id", Integer),
    Column("method", Text, nullable=False),
    Column("route", Text, nullable=False, comment="Route template, e.g. /api/v1/devices/{id}"),
    Column("path", Text, nullable=False),
    Column(
        "params",
        JSONB,
        nullable=False,
        server_default=text("'{}'::jsonb"),
        comment="Query and path parameters: ids, bbox, time window, limits",
    ),
    Column("status", SmallInteger, nullable=False),
    Column("client", Text),
    Column("duration_ms", Float),
    Index("ix_audit_log_at", "at"),
    comment="Append-only: the application role may INSERT only; a trigger refuses changes.",
)


# Tables defined beside this module on the same metadata (event engine, tile-cache counters).
from geomon.store import (  # noqa: E402,F401
    schema_basemap,
    schema_cases,
    schema_entities,
    schema_events,
    schema_exchange,
    schema_forecasts,
    schema_near_repeat,
    schema_reports,
    schema_tiles,
    schema_watchlists,
)
