"""Volunteers: teams with members and skills, and residents' service requests taken through
群众点单 → 政府派单 → 志愿者接单 (requested → dispatched → accepted → completed, with the hours given).

A request's steps are columns, each set once, in order (CHECK constraints hold the order); a completed
request carries its hours, which the volunteer-hours report sums.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)
TEAM_KINDS = ("patrol", "mediation", "service")
STATES = ("requested", "dispatched", "accepted", "completed")


def upgrade() -> None:
    op.create_table(
        "volunteer_teams",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("street_id", sa.String(32), sa.ForeignKey("streets.id"), nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(f"kind IN {TEAM_KINDS}", name="volunteer_teams_kind"),
    )
    op.create_table(
        "volunteers",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("team_id", sa.BigInteger, sa.ForeignKey("volunteer_teams.id"), nullable=False, index=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("skills", sa.ARRAY(sa.String(50)), nullable=False, server_default="{}"),
    )
    op.create_table(
        "service_requests",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("household_id", sa.BigInteger, sa.ForeignKey("households.id"), nullable=False, index=True),
        sa.Column("need", sa.Text, nullable=False),
        sa.Column("skill", sa.String(50)),
        sa.Column("status", sa.String(12), nullable=False, server_default="requested"),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("team_id", sa.BigInteger, sa.ForeignKey("volunteer_teams.id"), index=True),
        sa.Column("dispatched_at", TS),
        sa.Column("dispatched_by", sa.String(100)),
        sa.Column("volunteer_id", sa.BigInteger, sa.ForeignKey("volunteers.id"), index=True),
        sa.Column("accepted_at", TS),
        sa.Column("completed_at", TS),
        sa.Column("hours", sa.Numeric(6, 2)),
        sa.Column("note", sa.Text),
        sa.CheckConstraint(f"status IN {STATES}", name="service_requests_status"),
        sa.CheckConstraint("hours IS NULL OR (hours > 0 AND hours <= 24)", name="service_requests_hours"),
        sa.CheckConstraint(
            "(status = 'requested' OR team_id IS NOT NULL)"
            " AND (status NOT IN ('accepted', 'completed') OR volunteer_id IS NOT NULL)"
            " AND ((status = 'completed') = (hours IS NOT NULL))",
            name="service_requests_steps",
        ),
    )
    op.create_index("ix_service_requests_completed", "service_requests", ["completed_at"])


def downgrade() -> None:
    op.drop_table("service_requests")
    op.drop_table("volunteers")
    op.drop_table("volunteer_teams")
