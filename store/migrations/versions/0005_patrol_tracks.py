"""Patrol logs: cleaned GPS tracks tied to a person, with a time per vertex; never changed or deleted.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "patrol_tracks",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=False),
        sa.Column("source_format", sa.String(10), nullable=False),
        sa.Column("source_crs", sa.String(10), nullable=False),
        sa.Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
        sa.Column("times", ARRAY(sa.Float), nullable=False),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("ended_at >= started_at", name="patrol_tracks_period"),
        sa.CheckConstraint("cardinality(times) = ST_NPoints(geom)", name="patrol_tracks_one_time_per_vertex"),
    )
    op.create_index("ix_patrol_tracks_person_time", "patrol_tracks", ["person_id", "started_at"])
    op.create_index("ix_patrol_tracks_time", "patrol_tracks", ["started_at", "ended_at"])
    op.create_index("ix_patrol_tracks_geom", "patrol_tracks", ["geom"], postgresql_using="gist")
    op.execute("""
        CREATE TRIGGER patrol_tracks_kept BEFORE UPDATE OR DELETE ON patrol_tracks
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('patrol logs are kept as uploaded: never changed or deleted');
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER patrol_tracks_kept ON patrol_tracks")
    op.drop_table("patrol_tracks")
