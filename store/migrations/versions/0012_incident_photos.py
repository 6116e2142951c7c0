"""Case photos (issue 17): one row per photo of a case and stage, the file named by its SHA-256 on disk;
and categories that require an after-photo before a case of theirs is resolved.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_photos",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stage IN ('before', 'after')", name="incident_photos_stage"),
        sa.UniqueConstraint("incident_id", "stage", "sha256", name="uq_incident_photos"),
    )
    op.create_index("ix_incident_photos_sha256", "incident_photos", ["sha256"])
    op.add_column(
        "categories",
        sa.Column("after_photo_required", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("categories", "after_photo_required")
    op.drop_table("incident_photos")
