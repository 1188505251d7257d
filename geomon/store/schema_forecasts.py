"""Stored seasonal forecast runs (issue 19, migration 0022), on the shared :data:`metadata`."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    Column,
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
from sqlalchemy.dialects.postgresql import JSONB

from geomon.store.schema import _created_at, metadata

forecast_runs = Table(
    "forecast_runs",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("status", Text, nullable=False, server_default="queued"),
    Column("params", JSONB, nullable=False),
    Column("input_filter", JSONB, nullable=False),
    Column("step", Text, nullable=False),
    Column("n_locations", Integer),
    Column("n_steps", Integer),
    Column("n_events", Integer),
    Column("duration_s", Float),
    Column("created_by", Text, nullable=False, server_default=""),
    Column("agency_id", Integer, ForeignKey("agencies.id")),
    Column("error", Text),
    _created_at(),
)

forecast_cells = Table(
    "forecast_cells",
    metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id", ondelete="CASCADE"), nullable=False),
    Column("loc_id", Integer, nullable=False),
    Column("name", Text, nullable=False, server_default=""),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Column("status", Text, nullable=False),
    Column("model", Text, nullable=False, server_default=""),
    Column("trusted", Boolean, nullable=False, server_default="false"),
    *(
        Column(c, Float)
        for c in (
            "expected_next",
            "lower_next",
            "upper_next",
            "naive_next",
            "rmse",
            "rmse_naive",
            "mase",
            "mase_naive",
            "skill_p",
        )
    ),
    Column("peak_pos", SmallInteger),
    Column("n_outliers", Integer, nullable=False, server_default="0"),
    Column("series", JSONB, nullable=False),
    PrimaryKeyConstraint("run_id", "loc_id"),
    Index("ix_forecast_cells_geom", "geom", postgresql_using="gist"),
)
