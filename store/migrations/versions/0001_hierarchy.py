"""The district hierarchy: streets, communities, grids, buildings, roads, road segments, people.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SRID = 4326
LAYERS = ("streets", "communities", "grids", "buildings", "roads", "road_segments")


def _geom(kind: str) -> sa.Column:
    return sa.Column("geom", Geometry(kind, srid=SRID, spatial_index=False), nullable=False)


def upgrade() -> None:
    op.create_table(
        "streets",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("district", sa.String(100)),
        _geom("MULTIPOLYGON"),
    )
    op.create_table(
        "communities",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("street_id", sa.String(32), sa.ForeignKey("streets.id"), nullable=False, index=True),
        _geom("MULTIPOLYGON"),
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("community_id", sa.String(32), sa.ForeignKey("communities.id"), nullable=False, index=True),
        sa.Column("households", sa.Integer),
        sa.Column("valid_from", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        _geom("MULTIPOLYGON"),
        sa.CheckConstraint("households IS NULL OR households >= 0", name="grids_households_nonneg"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="grids_valid_range"),
    )
    op.create_table(
        "buildings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("grid_id", sa.String(32), sa.ForeignKey("grids.id"), nullable=False, index=True),
        sa.Column("compound", sa.String(100)),
        sa.Column("floors", sa.Integer),
        sa.Column("units", sa.Integer),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("population", sa.Integer),
        _geom("MULTIPOLYGON"),
        sa.CheckConstraint("households >= 0", name="buildings_households_nonneg"),
        sa.CheckConstraint("floors IS NULL OR floors > 0", name="buildings_floors_pos"),
        sa.CheckConstraint("units IS NULL OR units > 0", name="buildings_units_pos"),
        sa.CheckConstraint("population IS NULL OR population >= 0", name="buildings_population_nonneg"),
    )
    op.create_table(
        "roads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("street_id", sa.String(32), sa.ForeignKey("streets.id"), index=True),
        sa.Column("kind", sa.String(20)),
        _geom("LINESTRING"),
    )
    op.create_table(
        "road_segments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("street_id", sa.String(32), sa.ForeignKey("streets.id"), nullable=False, index=True),
        sa.Column("road_name", sa.String(100)),
        sa.Column("from_desc", sa.String(200)),
        sa.Column("to_desc", sa.String(200)),
        _geom("LINESTRING"),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("role", sa.String(20), nullable=False, index=True),
        sa.Column("chief_kind", sa.String(10)),
        sa.Column("phone", sa.String(20)),
        sa.Column("street_id", sa.String(32), sa.ForeignKey("streets.id"), index=True),
        sa.Column("community_id", sa.String(32), sa.ForeignKey("communities.id"), index=True),
        sa.Column("grid_id", sa.String(32), sa.ForeignKey("grids.id"), index=True),
        sa.Column("segment_id", sa.String(32), sa.ForeignKey("road_segments.id"), index=True),
        sa.Column("duties", sa.Text),
        sa.CheckConstraint(
            "role IN ('grid_worker', 'grid_chief', 'street_chief', 'official')", name="people_role"
        ),
        sa.CheckConstraint(
            "chief_kind IS NULL OR chief_kind IN ('party', 'merchant')", name="people_chief_kind"
        ),
        sa.CheckConstraint(
            "role <> 'street_chief' OR (chief_kind IS NOT NULL AND segment_id IS NOT NULL)",
            name="people_street_chief_has_segment",
        ),
        sa.CheckConstraint(
            "role <> 'grid_worker' OR grid_id IS NOT NULL", name="people_grid_worker_has_grid"
        ),
    )
    for table in LAYERS:
        op.create_index(f"ix_{table}_geom", table, ["geom"], postgresql_using="gist")
    # Grid history is kept: only current grids take part in locating, so index them apart.
    op.create_index(
        "ix_grids_current_geom",
        "grids",
        ["geom"],
        postgresql_using="gist",
        postgresql_where=sa.text("valid_to IS NULL"),
    )


def downgrade() -> None:
    for table in ("people", "road_segments", "roads", "buildings", "grids", "communities", "streets"):
        op.drop_table(table)
