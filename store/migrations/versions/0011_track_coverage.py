"""Coverage kept per patrol log (issue 15): measured once at upload, so a period's report unions rows.

* ``track_coverage_runs``: that a log was measured on a street against one basis (its roads, segments and
  buildings and the distances: ``geo.coverage.basis_key``), even when it passed nothing there.
* ``track_coverage``: per log, street, basis and line (a network edge by its index, a segment by its id), the
  samples it passed as an ``int4multirange`` of sample indices (a union of logs is ``range_agg``).
* ``track_passed``: the buildings a log came near.
* ``track_joint`` and ``track_joint_checked``: when a grid worker's log and an official's stayed together
  (the twice-a-week rule), checked once for each pair, and which logs were checked in which role.

Every row is written once and never changed; the stored logs are measured here (backfill).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import INT4MULTIRANGE

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _track() -> sa.ForeignKey:
    return sa.ForeignKey("patrol_tracks.id")


TABLES = ("track_coverage_runs", "track_coverage", "track_passed", "track_joint", "track_joint_checked")


def _measured_on() -> list[sa.Column]:
    return [
        sa.Column("track_id", sa.BigInteger, _track(), primary_key=True),
        sa.Column("street_id", sa.String(32), sa.ForeignKey("streets.id"), primary_key=True),
        sa.Column("basis", sa.String(40), primary_key=True),
    ]


def upgrade() -> None:
    op.create_table("track_coverage_runs", *_measured_on(), sa.Column("computed_at", TS, nullable=False))
    op.create_table(
        "track_coverage",
        *_measured_on(),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("line", sa.String(32), primary_key=True),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("hits", INT4MULTIRANGE, nullable=False),
        sa.Column("covered_m", sa.Float, nullable=False),
        sa.CheckConstraint("kind IN ('edge', 'segment')", name="track_coverage_kind"),
    )
    op.create_index("ix_track_coverage_street", "track_coverage", ["street_id", "basis", "track_id"])
    op.create_table(
        "track_passed", *_measured_on(), sa.Column("building_id", sa.String(32), primary_key=True)
    )
    op.create_table(
        "track_joint",
        sa.Column("worker_track_id", sa.BigInteger, _track(), primary_key=True),
        sa.Column("official_track_id", sa.BigInteger, _track(), primary_key=True),
        sa.Column("began_at", TS, primary_key=True),
        sa.Column("ended_at", TS, nullable=False),
    )
    op.create_table(
        "track_joint_checked",
        sa.Column("track_id", sa.BigInteger, _track(), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_kept BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION "
            f"wangge_refuse('coverage of a log is written once: never changed or deleted')"
        )
    from tqdm import tqdm

    from store.track_coverage import backfill

    # A city's logs take minutes: a bar on a terminal (none when the output is not one).
    conn = op.get_bind()
    total = conn.execute(sa.text("SELECT count(*) FROM patrol_tracks")).scalar_one()
    with tqdm(
        total=total, desc="测量巡查覆盖 measuring patrol coverage", unit="log", disable=None, leave=False
    ) as bar:
        backfill(conn, bar.update)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
