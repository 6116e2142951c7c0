"""The incident workflow: departments, categories, API tokens, incidents, their events, summons.

Incidents are never deleted and events are never changed: triggers refuse both,
so not even a careless script can lose a citizen's report or rewrite its story.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIERS = "('A', 'B', 'C', 'D')"
STATUSES = (
    "('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed', "
    "'returned', 'escalated', 'merged')"
)
CHANNELS = "('app', 'wechat', 'hotline_12345', 'patrol', 'camera', 'walk_in')"
TOKEN_ROLES = (
    "('citizen', 'grid_worker', 'street_chief', 'community_admin', 'street_admin', "
    "'district_admin', 'department')"
)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("report_limit_min", sa.Integer, nullable=False),
        sa.CheckConstraint("report_limit_min > 0", name="departments_limit_pos"),
    )
    op.create_table(
        "categories",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("tier", sa.String(1), nullable=False),
        sa.Column("road_related", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("departments", ARRAY(sa.String(32)), nullable=False, server_default="{}"),
        sa.Column("response_limit_min", sa.Integer, nullable=False),
        sa.Column("completion_limit_h", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.CheckConstraint(f"tier IN {TIERS}", name="categories_tier"),
        sa.CheckConstraint("response_limit_min > 0", name="categories_response_pos"),
        sa.CheckConstraint("completion_limit_h > 0", name="categories_completion_pos"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("scope_id", sa.String(32)),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id")),
        sa.Column("phone", sa.String(20)),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", TS),
        sa.CheckConstraint(f"role IN {TOKEN_ROLES}", name="api_tokens_role"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "category_code", sa.String(32), sa.ForeignKey("categories.code"), nullable=False, index=True
        ),
        sa.Column("description", sa.Text),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("reporter_name", sa.String(50)),
        sa.Column("reporter_phone", sa.String(20)),
        sa.Column("reporter_token_id", sa.Integer, sa.ForeignKey("api_tokens.id"), index=True),
        sa.Column("photo_urls", JSONB),
        sa.Column("input_location", JSONB, nullable=False),
        sa.Column("street_id", sa.String(32), sa.ForeignKey("streets.id"), index=True),
        sa.Column("community_id", sa.String(32), sa.ForeignKey("communities.id"), index=True),
        sa.Column("grid_id", sa.String(32), sa.ForeignKey("grids.id"), index=True),
        sa.Column("building_id", sa.String(32), sa.ForeignKey("buildings.id")),
        sa.Column("segment_id", sa.String(32), sa.ForeignKey("road_segments.id"), index=True),
        sa.Column("chief_id", sa.String(32), sa.ForeignKey("people.id"), index=True),
        sa.Column("worker_id", sa.String(32), sa.ForeignKey("people.id"), index=True),
        sa.Column("tier", sa.String(1), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("assignee_kind", sa.String(20), nullable=False),
        sa.Column("assignee_id", sa.String(32)),
        sa.Column("near_boundary", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("boundary_candidates", JSONB),
        sa.Column("possible_duplicates", JSONB),
        sa.Column("merged_into", sa.BigInteger, sa.ForeignKey("incidents.id")),
        sa.Column("reported_at", TS, nullable=False, index=True),
        sa.Column("accepted_at", TS),
        sa.Column("resolved_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("response_due", TS, nullable=False),
        sa.Column("completion_due", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("escalations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("rated_at", TS),
        sa.Column("idempotency_scope", sa.String(80)),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint(f"tier IN {TIERS}", name="incidents_tier"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="incidents_status"),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="incidents_channel"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="incidents_rating"),
        sa.UniqueConstraint("idempotency_scope", "idempotency_key", name="incidents_idempotency"),
    )
    op.create_index("ix_incidents_geom", "incidents", ["geom"], postgresql_using="gist")
    # The clock's sweep looks only at open incidents by deadline.
    op.create_index(
        "ix_incidents_open_due",
        "incidents",
        ["due_at"],
        postgresql_where=sa.text("status NOT IN ('resolved', 'verified', 'closed', 'merged')"),
    )
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("data", JSONB),
    )
    op.create_table(
        "summons",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("department_code", sa.String(32), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("summoned_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("reported_at", TS),
        sa.Column("reported_by", sa.String(100)),
        sa.UniqueConstraint("incident_id", "department_code", name="summons_once"),
    )
    op.execute("""
        CREATE FUNCTION wangge_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
        CREATE TRIGGER incidents_never_deleted BEFORE DELETE ON incidents
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('incidents are never deleted');
        CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('incident events are append-only');
    """)


def downgrade() -> None:
    for table in ("summons", "incident_events", "incidents", "api_tokens", "categories", "departments"):
        op.drop_table(table)
    op.execute("DROP FUNCTION wangge_refuse()")
