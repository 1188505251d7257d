"""device_latest.valid_fixes: how many valid fixes of the device the batch writer has stored

The ingest event hook keeps each device's recent fixes in memory and, for a batch that
follows on from them, reloads only the batch. It must know that nobody stored a fix inside
the part it holds (another listener process, a replayed buffer): the writer adds each
batch's valid inserted fixes to this counter in the same statement, so "counter now =
counter then + the batch's fixes" proves it with one row read (geomon.pipeline.window_cache).
Existing rows start at 0: only differences are compared.

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "device_latest",
        sa.Column(
            "valid_fixes",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="Valid fixes stored by the batch writer (a counter; compared as differences)",
        ),
    )


def downgrade() -> None:
    op.drop_column("device_latest", "valid_fixes")
