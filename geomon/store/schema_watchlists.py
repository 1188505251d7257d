"""Plate watch-lists (issue 17, migration 0020), on the shared :data:`metadata`.

One row per entry, owned by an agency (RLS, share scope ``watchlists``). ``plate`` is the
normalised plate (with ``*``/``?`` for a pattern), ``raw`` what the analyst typed,
``like_pattern`` the SQL LIKE form of a pattern, ``near`` the one-character deletions of an
exact plate (the near-miss index, docs/plates.md).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from geomon.store.schema import metadata

PRIORITIES = ("high", "medium", "low")

watchlist_entries = Table(
    "watchlist_entries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("list_name", Text, nullable=False, server_default="default"),
    Column("plate", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("is_pattern", Boolean, nullable=False, server_default=text("false")),
    Column("like_pattern", Text),
    Column("near", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("country", Text),
    Column("reason", Text, nullable=False, server_default=""),
    Column("priority", Text, nullable=False, server_default="high"),
    Column("valid_from", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("valid_until", DateTime(timezone=True)),
    Column("added_by", Text, nullable=False, server_default=""),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("removed_at", DateTime(timezone=True)),
    Column("removed_by", Text),
    Column("removed_why", Text),
    CheckConstraint("priority IN ('high', 'medium', 'low')", name="priority"),
    CheckConstraint("is_pattern = (like_pattern IS NOT NULL)", name="pattern"),
    CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="validity"),
    CheckConstraint("(removed_at IS NULL) = (removed_by IS NULL)", name="removed"),
    Index(
        "ix_watchlist_entries_plate",
        "plate",
        postgresql_where=text("removed_at IS NULL AND NOT is_pattern"),
    ),
    Index(
        "ix_watchlist_entries_patterns",
        "agency_id",
        postgresql_where=text("removed_at IS NULL AND is_pattern"),
    ),
    Index(
        "ix_watchlist_entries_near",
        "near",
        postgresql_using="gin",
        postgresql_where=text("removed_at IS NULL"),
    ),
    Index("ix_watchlist_entries_agency", "agency_id", "list_name", "id"),
)

# The near-miss index as btree rows (migration 0031): ``&&`` on arrays is not LEAKPROOF, so
# under forced row-level security the GIN index on ``near`` is never used.
watchlist_near = Table(
    "watchlist_near",
    metadata,
    Column(
        "entry_id",
        BigInteger,
        ForeignKey("watchlist_entries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("del", Text, nullable=False),
    Index("ix_watchlist_near_del", "del"),
    Index("ix_watchlist_near_entry_id", "entry_id"),
    comment="One-character deletions of exact watch-list entries (near-miss index; "
    "trigger-maintained)",
)
