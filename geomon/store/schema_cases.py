"""Tables of seizure cases (issue 18, migration 0019), on the shared :data:`metadata`.

Vocabularies are reference tables (data, not code); ``case_history`` is append-only.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from geomon.store.schema import metadata


def _vocab(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("code", Text, primary_key=True),
        Column("name", Text, nullable=False),
    )


case_categories = _vocab("case_categories")
case_concealments = _vocab("case_concealments")
case_transport_modes = _vocab("case_transport_modes")
case_substances = Table(
    "case_substances",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("unodc_group", Text, nullable=False),
    Column("measure", Text, nullable=False),
)
case_units = Table(
    "case_units",
    metadata,
    Column("code", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("to_kg", Float),
)


def _ref(table: str) -> ForeignKey:
    return ForeignKey(f"{table}.code")


cases = Table(
    "cases",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("source", Text, nullable=False, server_default=""),
    Column("external_id", Text, nullable=False),
    Column("category", Text, _ref("case_categories"), nullable=False),
    Column("substance", Text, _ref("case_substances")),
    Column("quantity_kg", Float),
    Column("quantity_count", BigInteger),
    Column("unit", Text, _ref("case_units")),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("concealment", Text, _ref("case_concealments")),
    Column("transport_mode", Text, _ref("case_transport_modes")),
    Column("origin_country", Text),
    Column("transit_countries", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("destination_country", Text),
    Column("seizing_unit", Text, nullable=False, server_default=""),
    Column("entity_ids", ARRAY(BigInteger), nullable=False, server_default=text("'{}'")),
    Column("note", Text, nullable=False, server_default=""),
    Column("flags", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", Text, nullable=False, server_default=""),
    Column("deleted_at", DateTime(timezone=True)),
    Column("deleted_by", Text),
    Column("deleted_why", Text),
    UniqueConstraint("agency_id", "source", "external_id"),
    CheckConstraint("(deleted_at IS NULL) = (deleted_by IS NULL)", name="deleted"),
    Index("ix_cases_geom", "geom", postgresql_using="gist"),
    Index("ix_cases_agency_time", "agency_id", "occurred_at"),
)
case_history = Table(
    "case_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", BigInteger, ForeignKey("cases.id"), nullable=False),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("by", Text, nullable=False, server_default=""),
    Column("why", Text, nullable=False, server_default=""),
    Column("before", JSONB),
    Column("after", JSONB),
    Index("ix_case_history_case", "case_id", "id"),
)
