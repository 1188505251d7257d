"""Entities and links (issue 17, migration 0032), on the shared :data:`metadata`.

``entities`` are persons, vehicles, phones and organisations of an agency; ``identity`` is an
entity's key within (agency, kind): a vehicle's normalised plate (its VIN without one), a
phone's IMEI (else its number), a person's id in the source. ``links`` tie an entity to one
other entity, case, incident, observation or event. Both are under RLS with the share scope
``entities`` and are soft-deleted.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from geomon.store.schema import metadata

ENTITY_KINDS = ("person", "vehicle", "phone", "organisation")
LINK_KINDS = (
    "associate",
    "family",
    "owns",
    "drives",
    "uses",
    "member_of",
    "called",
    "involved_in",
    "seized_in",
    "seen_in",
    "other",
)
# What the far end of a link can be: the column that holds its id.
TARGET_COLUMNS = {
    "entity": "other_entity_id",
    "case": "case_id",
    "incident": "incident_id",
    "observation": "observation_id",
    "event": "event_id",
}


def _deleted() -> list[Column[object]]:
    return [
        Column("deleted_at", DateTime(timezone=True)),
        Column("deleted_by", Text),
        Column("deleted_why", Text),
    ]


entities = Table(
    "entities",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("identity", Text, comment="Key within (agency, kind): plate, IMEI, source id"),
    Column("label", Text, nullable=False),
    Column("name", Text),
    Column("born_on", Date),
    Column("plate", Text, comment="Normalised plate (geomon.plates.normalise_plate)"),
    Column("plate_raw", Text),
    Column("plate_country", Text),
    Column("vin", Text),
    Column("imei", Text),
    Column("msisdn", Text),
    Column("attrs", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("note", Text, nullable=False, server_default=""),
    Column("source", Text, nullable=False, server_default=""),
    Column("added_by", Text, nullable=False, server_default=""),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", Text, nullable=False, server_default=""),
    *_deleted(),
    CheckConstraint(f"kind IN {ENTITY_KINDS!r}", name="kind"),
    CheckConstraint("(deleted_at IS NULL) = (deleted_by IS NULL)", name="deleted"),
    Index(
        "uq_entities_live_identity",
        "agency_id",
        "kind",
        "identity",
        unique=True,
        postgresql_where=text("identity IS NOT NULL AND deleted_at IS NULL"),
    ),
    Index("ix_entities_agency_id_kind_id", "agency_id", "kind", "id"),
    Index("ix_entities_plate", "plate", postgresql_where=text("plate IS NOT NULL")),
    Index("ix_entities_imei", "imei", postgresql_where=text("imei IS NOT NULL")),
    Index("ix_entities_msisdn", "msisdn", postgresql_where=text("msisdn IS NOT NULL")),
)


def _target(column: str, table: str, cascade: bool) -> Column[int]:
    ondelete = "CASCADE" if cascade else None
    return Column(column, BigInteger, ForeignKey(f"{table}.id", ondelete=ondelete))


links = Table(
    "links",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("entity_id", BigInteger, ForeignKey("entities.id"), nullable=False),
    _target("other_entity_id", "entities", False),
    _target("case_id", "cases", False),
    _target("incident_id", "incidents", True),
    _target("observation_id", "observations", True),
    _target("event_id", "events", True),
    Column("source", Text, nullable=False, server_default=""),
    Column("confidence", Float),
    Column("valid_from", DateTime(timezone=True)),
    Column("valid_until", DateTime(timezone=True)),
    Column("note", Text, nullable=False, server_default=""),
    Column("added_by", Text, nullable=False, server_default=""),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    *_deleted(),
    CheckConstraint(f"kind IN {LINK_KINDS!r}", name="kind"),
    CheckConstraint(
        "num_nonnulls(other_entity_id, case_id, incident_id, observation_id, event_id) = 1",
        name="one_target",
    ),
    CheckConstraint("other_entity_id IS DISTINCT FROM entity_id", name="not_self"),
    CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    CheckConstraint(
        "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from", name="validity"
    ),
    CheckConstraint("(deleted_at IS NULL) = (deleted_by IS NULL)", name="deleted"),
    Index("ix_links_entity_id", "entity_id"),
    *(
        Index(f"ix_links_{c}", c, postgresql_where=text(f"{c} IS NOT NULL"))
        for c in ("other_entity_id", "case_id", "incident_id", "observation_id", "event_id")
    ),
)
