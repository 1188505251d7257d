"""Scheduled reports (issue 18, migration 0033), on the shared :data:`metadata`.

- ``report_schedules``: one report (kind + parameters), a cron expression read in the
  schedule's time zone, the formats to make, where to send them (e-mail addresses, a
  webhook), the next due time.
- ``report_runs``: one row per (schedule, due time): unique, so two schedulers never make the
  same run twice; what was written and delivered, or why it failed.

RLS ENABLEd and FORCEd like the other agency tables (own agency reads and writes; analysts
and admins write).
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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from geomon.store.schema import metadata

REPORT_KINDS = ("trips", "stops", "summary", "blo-weekly")
RUN_STATES = ("running", "done", "failed")

report_schedules = Table(
    "report_schedules",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("formats", ARRAY(Text), nullable=False, server_default=text("'{pdf}'")),
    Column("cron", Text, nullable=False, comment="Five fields, in time_zone"),
    Column("time_zone", Text, nullable=False),
    Column("locale", Text, nullable=False, server_default="ru"),
    Column("email_to", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("webhook_url", Text, nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("next_run_at", DateTime(timezone=True), nullable=False),
    Column("last_run_at", DateTime(timezone=True)),
    Column("created_by", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("agency_id", "name"),
    CheckConstraint(f"kind IN {REPORT_KINDS!r}", name="kind"),
    Index("ix_report_schedules_next_run_at", "next_run_at"),
)

report_runs = Table(
    "report_runs",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "schedule_id",
        Integer,
        ForeignKey("report_schedules.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False, server_default="running"),
    Column("period_start", DateTime(timezone=True)),
    Column("period_end", DateTime(timezone=True)),
    Column("files", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("delivered", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("error", Text),
    UniqueConstraint("schedule_id", "due_at"),
    CheckConstraint(f"status IN {RUN_STATES!r}", name="status"),
)
