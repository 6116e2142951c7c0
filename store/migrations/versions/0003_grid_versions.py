"""Grid versions: previews of drawings and re-splits, and the lineage of old grids into new ones.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "grid_previews",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("community_ids", ARRAY(sa.String(32)), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="preview"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("applied_at", TS),
        sa.Column("base_fingerprint", sa.String(64), nullable=False),
        sa.Column("target", sa.Integer, nullable=False),
        sa.Column("tolerance", sa.Float, nullable=False),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("grids", JSONB, nullable=False),
        sa.Column("assignments", JSONB, nullable=False),
        sa.CheckConstraint("kind IN ('draw', 'resplit')", name="grid_previews_kind"),
        sa.CheckConstraint("status IN ('preview', 'applied', 'stale')", name="grid_previews_status"),
    )
    op.create_table(
        "grid_lineage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("preview_id", sa.String(32), sa.ForeignKey("grid_previews.id"), nullable=False, index=True),
        sa.Column("old_grid_id", sa.String(32), sa.ForeignKey("grids.id"), nullable=False, index=True),
        sa.Column("new_grid_id", sa.String(32), sa.ForeignKey("grids.id"), nullable=False, index=True),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
    )
    # Grid versions are history: a retired grid is closed with valid_to, never deleted.
    op.execute("""
        CREATE TRIGGER grids_never_deleted BEFORE DELETE ON grids
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('grids are never deleted: close them with valid_to');
        CREATE TRIGGER grid_lineage_append_only BEFORE UPDATE OR DELETE ON grid_lineage
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('grid lineage is append-only');
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER grids_never_deleted ON grids")
    op.drop_table("grid_lineage")
    op.drop_table("grid_previews")
