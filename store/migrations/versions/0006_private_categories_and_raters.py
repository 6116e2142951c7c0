"""Private categories and honest ratings.

* ``categories.public``: whether the public (Open311 reads, anonymous pages) may see a category's reports
  at all; matters about people (a lonely elder, a neighbours' dispute, a resettlement) are private.
  ``categories.public_text``: whether the public may read a public report's description and photos.
* ``incidents.rated_by``: who gave the rating. Only the reporter's and a call-back's count as
  satisfaction; ratings given before this revision by staff (their event's role says so) are kept as
  ``staff`` and no longer counted.
* the ``callback`` token role (回访员): rates by calling the reporter, belongs to no scored unit.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PRIVATE = ("A09", "B03", "D01")
TEXT_PUBLIC = ("A03", "A04", "A05", "A08", "C02", "D02")
OLD_ROLES = (
    "citizen",
    "grid_worker",
    "street_chief",
    "community_admin",
    "street_admin",
    "district_admin",
    "department",
)
ROLES = (*OLD_ROLES, "callback")


def upgrade() -> None:
    op.add_column("categories", sa.Column("public", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column(
        "categories", sa.Column("public_text", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.execute(
        sa.text("UPDATE categories SET public = false WHERE code IN :c").bindparams(
            sa.bindparam("c", PRIVATE, expanding=True)
        )
    )
    op.execute(
        sa.text("UPDATE categories SET public_text = true WHERE code IN :c").bindparams(
            sa.bindparam("c", TEXT_PUBLIC, expanding=True)
        )
    )
    op.add_column("incidents", sa.Column("rated_by", sa.String(10)))
    op.execute("""
        UPDATE incidents i SET rated_by = CASE coalesce((
            SELECT e.role FROM incident_events e WHERE e.incident_id = i.id AND e.action = 'rate'
            ORDER BY e.id DESC LIMIT 1), 'citizen') WHEN 'citizen' THEN 'reporter' ELSE 'staff' END
        WHERE i.rating IS NOT NULL""")
    op.create_check_constraint(
        "incidents_rated_by",
        "incidents",
        "(rating IS NULL) = (rated_by IS NULL) AND (rated_by IS NULL OR rated_by IN ('reporter', 'callback', 'staff'))",
    )
    op.drop_constraint("api_tokens_role", "api_tokens")
    op.create_check_constraint("api_tokens_role", "api_tokens", f"role IN {ROLES}")


def downgrade() -> None:
    op.drop_constraint("api_tokens_role", "api_tokens")
    op.create_check_constraint("api_tokens_role", "api_tokens", f"role IN {OLD_ROLES}")
    op.drop_constraint("incidents_rated_by", "incidents")
    op.drop_column("incidents", "rated_by")
    op.drop_column("categories", "public_text")
    op.drop_column("categories", "public")
