"""hotspot store: run errors, and deletes of stored analysis results by the API role

- ``hotspot_runs.error``: why a run failed (runs started from the API go queued → running →
  done | failed in a background worker).
- ``geomon_app`` may DELETE hotspot runs (their cells cascade) and surfaces; row-level
  security still limits that to an analyst/admin of the owning agency (migration 0003).

Revision ID: 0005
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = "geomon_app"
DELETABLE = ("hotspot_runs", "hotspot_cells", "surfaces")


def upgrade() -> None:
    op.add_column(
        "hotspot_runs",
        sa.Column("error", sa.Text(), nullable=True, comment="Why a failed run failed"),
    )
    op.execute(f"GRANT DELETE ON {', '.join(DELETABLE)} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE DELETE ON {', '.join(DELETABLE)} FROM {APP_ROLE}")
    op.drop_column("hotspot_runs", "error")
