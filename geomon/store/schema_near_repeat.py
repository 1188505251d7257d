"""Stored near-repeat runs (issue 17, migration 0026), on the shared :data:`metadata`."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from geomon.store.schema import _created_at, metadata

near_repeat_runs = Table(
    "near_repeat_runs",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("status", Text, nullable=False, server_default="queued"),
    Column("params", JSONB, nullable=False),
    Column("input_filter", JSONB, nullable=False),
    Column("crs", Text),
    Column("n_incidents", Integer),
    Column("n_close_pairs", BigInteger),
    Column("n_chains", Integer),
    Column("duration_s", Float),
    Column("created_by", Text, nullable=False, server_default=""),
    Column("agency_id", Integer, ForeignKey("agencies.id")),
    Column("error", Text),
    _created_at(),
)

near_repeat_cells = Table(
    "near_repeat_cells",
    metadata,
    Column(
        "run_id", Integer, ForeignKey("near_repeat_runs.id", ondelete="CASCADE"), nullable=False
    ),
    Column("space_band", SmallInteger, nullable=False),
    Column("time_band", SmallInteger, nullable=False),
    *(
        Column(c, Float, nullable=False)
        for c in ("space_lo_m", "space_hi_m", "time_lo_days", "time_hi_days")
    ),
    Column("observed", BigInteger, nullable=False),
    Column("expected", Float, nullable=False),
    Column("ratio", Float),
    Column("p_value", Float, nullable=False),
    PrimaryKeyConstraint("run_id", "space_band", "time_band"),
)

near_repeat_chains = Table(
    "near_repeat_chains",
    metadata,
    Column(
        "run_id", Integer, ForeignKey("near_repeat_runs.id", ondelete="CASCADE"), nullable=False
    ),
    Column("chain_id", Integer, nullable=False),
    Column("n_incidents", Integer, nullable=False),
    Column("incident_ids", ARRAY(BigInteger), nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
    PrimaryKeyConstraint("run_id", "chain_id"),
    Index("ix_near_repeat_chains_geom", "geom", postgresql_using="gist"),
)
