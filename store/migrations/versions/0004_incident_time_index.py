"""Recent incidents by category: the duplicate check looks back 48 hours, so it reads by time first.

Reading by place first would read every report ever made at a busy market before the time
filter; by category and time it reads only the last two days of that category.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_incidents_category_time", "incidents", ["category_code", "reported_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_category_time", "incidents")
