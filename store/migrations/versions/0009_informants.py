"""Informants (网格信息员): part-time residents who tell their grid worker what happens, at least 20 per worker
in seed 004. Each is linked to one grid worker; a phone is sealed like the register's.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "informants",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("worker_id", sa.String(32), sa.ForeignKey("people.id"), nullable=False, index=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone_sealed", sa.LargeBinary),
        sa.Column("household_id", sa.BigInteger, sa.ForeignKey("households.id")),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("informants")
