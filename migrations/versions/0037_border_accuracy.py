"""borders.accuracy_m: how far a border line may be from the real boundary

``border_cross`` fires only past a depth beyond the line (issue 20): the reference line is
244-1,927 m off at places that sit on the real border, so a patrol driving its own bank raised
a critical alarm twice a lap. The depth defaults from this column plus a GPS margin
(docs/events.md). Lines already loaded from Natural Earth 1:10m get its 2,000 m.

Revision ID: 0037
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "borders",
        sa.Column(
            "accuracy_m",
            sa.Float(),
            nullable=True,
            comment="How far the line may be from the real boundary (border_cross tolerance)",
        ),
    )
    op.execute("UPDATE borders SET accuracy_m = 2000 WHERE source LIKE 'Natural Earth 1:10m%'")


def downgrade() -> None:
    op.drop_column("borders", "accuracy_m")
