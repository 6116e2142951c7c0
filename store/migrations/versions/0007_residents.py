"""The residents' register: households at a building, unit and room; their members, special groups and
visits; an append-only log of every staff read.

* ``special_groups``: the office's editable catalogue of tags (独居老人, 低保 …) and the visit plan of each
  (every ``visit_days`` days; none: no plan);
* ``households``: one per building, unit and room. A trigger keeps ``buildings.households`` (and the
  current grid's ``households``) equal to the register's count for every building the register holds;
* ``residents``: ID-card number and phone sealed with a key held outside the database (``*_sealed``), and
  a keyed hash of the ID number (``id_number_mac``) to find a person without opening any record;
* ``resident_visits`` and ``resident_access_log``: kept as written (triggers refuse change and deletion).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)
SEXES = ("M", "F")
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "sibling", "other")
ACCESS = ("read", "list", "search", "write", "export")
# The catalogue an office starts from (DOMAIN.md's special groups), with a visit plan for each.
GROUPS = [
    ("lonely_elder", "独居老人", "elder living alone", 7),
    ("very_old", "高龄", "very old (80+)", 14),
    ("disabled", "残疾", "disabled", 30),
    ("low_income", "低保", "minimum living allowance", 30),
    ("left_behind_child", "留守儿童", "left-behind child", 14),
    ("watch", "重点关注", "under close attention", 7),
]


def upgrade() -> None:
    op.create_table(
        "special_groups",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("visit_days", sa.Integer),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.CheckConstraint(
            "visit_days IS NULL OR visit_days BETWEEN 1 AND 366", name="special_groups_visit_days"
        ),
    )
    op.bulk_insert(
        sa.table("special_groups", *(sa.column(c) for c in ("code", "name_zh", "name_en", "visit_days"))),
        [dict(zip(("code", "name_zh", "name_en", "visit_days"), g, strict=True)) for g in GROUPS],
    )
    op.create_table(
        "households",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("building_id", sa.String(32), sa.ForeignKey("buildings.id"), nullable=False, index=True),
        sa.Column("unit", sa.String(20), nullable=False, server_default=""),
        sa.Column("room", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("building_id", "unit", "room", name="households_one_per_room"),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("household_id", sa.BigInteger, sa.ForeignKey("households.id"), nullable=False, index=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("sex", sa.String(1)),
        sa.Column("birth_year", sa.SmallInteger),
        sa.Column("relation", sa.String(20)),
        sa.Column("phone_sealed", sa.LargeBinary),
        sa.Column("id_number_sealed", sa.LargeBinary),
        sa.Column("id_number_mac", sa.LargeBinary, unique=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS),
        sa.CheckConstraint(f"sex IS NULL OR sex IN {SEXES}", name="residents_sex"),
        sa.CheckConstraint(f"relation IS NULL OR relation IN {RELATIONS}", name="residents_relation"),
        sa.CheckConstraint(
            "birth_year IS NULL OR birth_year BETWEEN 1890 AND 2100", name="residents_birth_year"
        ),
        sa.CheckConstraint("(id_number_sealed IS NULL) = (id_number_mac IS NULL)", name="residents_id_mac"),
    )
    op.create_table(
        "resident_groups",
        sa.Column("resident_id", sa.BigInteger, sa.ForeignKey("residents.id"), primary_key=True),
        sa.Column("group_code", sa.String(32), sa.ForeignKey("special_groups.code"), primary_key=True),
        sa.Column("since", TS, nullable=False),
    )
    op.create_index("ix_resident_groups_code", "resident_groups", ["group_code"])
    op.create_table(
        "resident_visits",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("household_id", sa.BigInteger, sa.ForeignKey("households.id"), nullable=False),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id")),
        sa.Column("visited_at", TS, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_resident_visits_household", "resident_visits", ["household_id", "visited_at"])
    op.create_table(
        "resident_access_log",
        sa.Column("id", sa.BigInteger, primary_key=True),
        # No foreign key: the log outlives the record it speaks of.
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20)),
        sa.Column("token_id", sa.Integer),
        sa.Column("at", TS, nullable=False),
        sa.CheckConstraint(f"action IN {ACCESS}", name="resident_access_log_action"),
    )
    op.create_index("ix_resident_access_log_resident", "resident_access_log", ["resident_id", "at"])
    op.create_index("ix_resident_access_log_at", "resident_access_log", ["at"])
    op.execute("""
        CREATE TRIGGER resident_visits_kept BEFORE UPDATE OR DELETE ON resident_visits
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('visits are kept as recorded: never changed or deleted');
        CREATE TRIGGER resident_access_log_append_only BEFORE UPDATE OR DELETE ON resident_access_log
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('the register access log is append-only');
        CREATE FUNCTION wangge_register_households() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE buildings b SET households = (SELECT count(*) FROM households h WHERE h.building_id = b.id)
            WHERE b.id IN (SELECT building_id FROM changed);
            UPDATE grids g SET households = (SELECT sum(b.households) FROM buildings b WHERE b.grid_id = g.id)
            WHERE g.valid_to IS NULL
              AND g.id IN (SELECT b.grid_id FROM buildings b WHERE b.id IN (SELECT building_id FROM changed));
            RETURN NULL;
        END $$;
        CREATE TRIGGER households_counted_in AFTER INSERT ON households REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION wangge_register_households();
        CREATE TRIGGER households_counted_out AFTER DELETE ON households REFERENCING OLD TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION wangge_register_households();
        CREATE TRIGGER households_stay_in_their_building BEFORE UPDATE OF building_id ON households
            FOR EACH ROW EXECUTE FUNCTION wangge_refuse('a household never moves building: register a new one');
    """)


def downgrade() -> None:
    op.drop_table("resident_access_log")
    op.drop_table("resident_visits")
    op.drop_table("resident_groups")
    op.drop_table("residents")
    op.drop_table("households")
    op.execute("DROP FUNCTION wangge_register_households()")
    op.drop_table("special_groups")
