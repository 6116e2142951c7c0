"""Follow-through on every case (issue 17): the outbox, reopening and 督办, hotline ticket numbers.

* ``outbox``: one row per message an event owes someone (a new case to its assignee, a resolution to the
  reporter, a reopened case, a summons, a status pushed back to the hotline), written in the event's own
  transaction, delivered later by ``wangge outbox send``; ``next_attempt_at`` spaces the retries.
* ``incidents.reopens`` and ``incidents.duban``: how often the reporter reopened a case, and whether it is
  under supervision (督办) after a bad rating; the ``reopened`` status.
* ``incidents.external_source`` / ``external_ref``: the ticket number of a case another system (the 12345
  hotline) transferred, unique per source, so the same ticket imported twice is one case.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
OLD_STATUSES = (
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "resolved",
    "verified",
    "closed",
    "returned",
    "escalated",
    "merged",
)
STATUSES = (*OLD_STATUSES, "reopened")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("body", JSONB, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", TS),
        sa.CheckConstraint("channel IN ('sms', 'webhook')", name="outbox_channel"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="outbox_status"),
    )
    # The sender reads only what is due.
    op.create_index(
        "ix_outbox_due", "outbox", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )
    op.add_column("incidents", sa.Column("reopens", sa.Integer, nullable=False, server_default="0"))
    op.add_column("incidents", sa.Column("duban", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("incidents", sa.Column("external_source", sa.String(20)))
    op.add_column("incidents", sa.Column("external_ref", sa.String(64)))
    op.create_unique_constraint("incidents_external", "incidents", ["external_source", "external_ref"])
    op.create_check_constraint(
        "incidents_external_pair", "incidents", "(external_source IS NULL) = (external_ref IS NULL)"
    )
    op.create_index("ix_incidents_duban", "incidents", ["id"], postgresql_where=sa.text("duban"))
    op.drop_constraint("incidents_status", "incidents")
    op.create_check_constraint("incidents_status", "incidents", f"status IN {STATUSES}")


def downgrade() -> None:
    op.execute("UPDATE incidents SET status = 'reported' WHERE status = 'reopened'")
    op.drop_constraint("incidents_status", "incidents")
    op.create_check_constraint("incidents_status", "incidents", f"status IN {OLD_STATUSES}")
    op.drop_index("ix_incidents_duban", "incidents")
    op.drop_constraint("incidents_external_pair", "incidents")
    op.drop_constraint("incidents_external", "incidents")
    for column in ("external_ref", "external_source", "duban", "reopens"):
        op.drop_column("incidents", column)
    op.drop_table("outbox")
