"""Signed exchange packages between national instances (issue 18, migration 0038), on the
shared :data:`metadata`.

- ``exchange_partners``: the public Ed25519 keys an agency trusts, one row per (agency,
  partner agency code, key fingerprint); a revoked key no longer verifies packages.
- ``exchange_packages``: one row per imported package: who signed it (partner code, key
  fingerprint), when it was exported, its manifest, the digest of its content (unique per
  importing agency: importing the same package again changes nothing), who imported it.
- ``exchange_events``: the partner's events (alerts, watch-list hits) as received, keyed by
  (importing agency, partner, the partner's event key), with the package they came in.

Cases from a package go into ``cases`` (source ``x:<partner>``), with their history.
RLS ENABLEd and FORCEd like the other agency tables: partners own-agency only; packages and
events under the share scopes ``incidents`` and ``events``.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from geomon.store.schema import metadata

exchange_partners = Table(
    "exchange_partners",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("partner", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("added_by", Text, nullable=False, server_default=""),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    UniqueConstraint("agency_id", "fingerprint", name="uq_exchange_partners_key"),
)

exchange_packages = Table(
    "exchange_packages",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("partner", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("exported_at", DateTime(timezone=True), nullable=False),
    Column("content_sha256", Text, nullable=False),
    Column("manifest", JSONB, nullable=False),
    Column("counts", JSONB, nullable=False),
    Column("imported_by", Text, nullable=False, server_default=""),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("agency_id", "content_sha256", name="uq_exchange_packages_content"),
)

exchange_events = Table(
    "exchange_events",
    metadata,
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("partner", Text, nullable=False),
    Column("event_key", Text, nullable=False),
    Column(
        "package_id",
        BigInteger,
        ForeignKey("exchange_packages.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),
    Column("device", Text),
    Column("zone", Text),
    Column("properties", JSONB, nullable=False),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    PrimaryKeyConstraint("agency_id", "partner", "event_key"),
    Index("ix_exchange_events_geom", "geom", postgresql_using="gist"),
    Index("ix_exchange_events_time", "occurred_at"),
)
