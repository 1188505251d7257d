"""users.locale and users.time_zone: the console's language and time zone per person

Both NULL by default: the page then follows Accept-Language and the agency's state's zone
(geomon/i18n/zones.py). The API stays UTC; these only change what the browser shows.

Revision ID: 0016
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "locale", sa.Text(), nullable=True, comment="UI language, e.g. ru; NULL = browser"
        ),
    )
    op.add_column(
        "users",
        sa.Column(
            "time_zone",
            sa.Text(),
            nullable=True,
            comment="IANA zone for times on the page; NULL = the agency's",
        ),
    )


def downgrade() -> None:
    op.drop_column("users", "time_zone")
    op.drop_column("users", "locale")
