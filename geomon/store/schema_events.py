"""Tables of the event engine (issue 8, migration 0004), on the shared :data:`metadata`.

Kept apart from :mod:`geomon.store.schema` so that module stays readable; it imports this one
at its end, so ``schema.metadata`` always holds every table.
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
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from geomon.store.schema import SEVERITIES, metadata

CHANNELS = ("webhook", "mqtt")
DELIVERY_STATES = ("pending", "delivered", "failed")

zone_assignments = Table(
    "zone_assignments",
    metadata,
    Column("zone_id", Integer, ForeignKey("zones.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("zone_id", "device_id"),
    comment="Patrol areas assigned to teams (coverage per zone, exit warnings).",
)

duty_periods = Table(
    "duty_periods",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    CheckConstraint("ends_at > starts_at", name="ordered"),
    Index("ix_duty_periods_device_id_starts_at", "device_id", "starts_at"),
    comment="When a team is on duty (silent-team alerts only fire on duty when required).",
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("scope", Text, primary_key=True, comment="'default' or an agency code"),
    Column("rules", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="Rule overrides (docs/events.md) merged over the built-in defaults.",
)

notification_targets = Table(
    "notification_targets",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column(
        "agency_id",
        Integer,
        ForeignKey("agencies.id", ondelete="CASCADE"),
        comment="Only this agency's events; NULL = all",
    ),
    Column("channel", Text, nullable=False),
    Column("url", Text, nullable=False, comment="https://… or mqtt://host:port/topic"),
    Column("secret", Text, nullable=False, server_default="", comment="HMAC-SHA256 key"),
    Column("min_severity", Text, nullable=False, server_default="warning"),
    Column(
        "kinds",
        ARRAY(Text),
        nullable=False,
        server_default=text("'{}'"),
        comment="Event kinds to send; empty = all",
    ),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
    CheckConstraint(f"min_severity IN {SEVERITIES!r}", name="min_severity"),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "target_id",
        Integer,
        ForeignKey("notification_targets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", BigInteger, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_status", Integer, comment="HTTP status of the last attempt"),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"status IN {DELIVERY_STATES!r}", name="status"),
    UniqueConstraint("target_id", "event_id"),
    Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    comment="Outbox and delivery log of webhook/MQTT notifications (retried with back-off).",
)

EVENT_ACTIONS = ("acknowledge", "assign", "resolve", "note")

event_history = Table(
    "event_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("event_id", BigInteger, nullable=False),  # no FK: history outlives a deleted event
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("by", Text, nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'")),
    CheckConstraint(f"action IN {EVENT_ACTIONS!r}", name="action"),
    Index("ix_event_history_event_id_id", "event_id", "id"),
)
