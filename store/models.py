"""The district hierarchy as tables: street > community > grid > building, roads, segments, people.

Identifiers are the stable codes officials use (a grid code is its community code
plus a number), so they are the primary keys. Geometries are EPSG:4326.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326
# The lists of allowed codes (roles, chief kinds, tiers, statuses, channels, token roles) are the office's
# vocabulary and live in ``core.vocabulary``; the migrations enforce them as CHECK constraints, and
# tests/store/test_schema.py holds the database's lists equal to the vocabulary's.


class Base(DeclarativeBase):
    pass


def _geom(kind: str) -> Geometry:
    # Indexes are created by the migration, explicitly, so autogenerate and reality agree.
    return Geometry(kind, srid=SRID, spatial_index=False)


class Street(Base):
    """街道: a street office's area."""

    __tablename__ = "streets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Community(Base):
    """社区: a residents' community inside one street."""

    __tablename__ = "communities"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Grid(Base):
    """网格: about 500 households, one worker; versioned by valid_from/valid_to, never deleted."""

    __tablename__ = "grids"
    __table_args__ = (
        CheckConstraint("households IS NULL OR households >= 0", name="grids_households_nonneg"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="grids_valid_range"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    households: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Building(Base):
    """楼栋: a building with floors, units and households, inside one grid."""

    __tablename__ = "buildings"
    __table_args__ = (
        CheckConstraint("households >= 0", name="buildings_households_nonneg"),
        CheckConstraint("floors IS NULL OR floors > 0", name="buildings_floors_pos"),
        CheckConstraint("units IS NULL OR units > 0", name="buildings_units_pos"),
        CheckConstraint("population IS NULL OR population >= 0", name="buildings_population_nonneg"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    grid_id: Mapped[str] = mapped_column(ForeignKey("grids.id"), index=True)
    compound: Mapped[str | None] = mapped_column(String(100))
    floors: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Road(Base):
    """道路: a named road centreline, the network patrols walk."""

    __tablename__ = "roads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    street_id: Mapped[str | None] = mapped_column(ForeignKey("streets.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    geom = mapped_column(_geom("LINESTRING"), nullable=False)


class RoadSegment(Base):
    """责任路段: a responsible stretch of road with its street chief(s)."""

    __tablename__ = "road_segments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    road_name: Mapped[str | None] = mapped_column(String(100))
    from_desc: Mapped[str | None] = mapped_column(String(200))
    to_desc: Mapped[str | None] = mapped_column(String(200))
    geom = mapped_column(_geom("LINESTRING"), nullable=False)


class Person(Base):
    """A responsible person: grid worker, grid chief, street chief (party or merchant) or official."""

    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint(
            "role <> 'street_chief' OR (chief_kind IS NOT NULL AND segment_id IS NOT NULL)",
            name="people_street_chief_has_segment",
        ),
        CheckConstraint("role <> 'grid_worker' OR grid_id IS NOT NULL", name="people_grid_worker_has_grid"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20), index=True)
    chief_kind: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    street_id: Mapped[str | None] = mapped_column(ForeignKey("streets.id"), index=True)
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), index=True)
    grid_id: Mapped[str | None] = mapped_column(ForeignKey("grids.id"), index=True)
    segment_id: Mapped[str | None] = mapped_column(ForeignKey("road_segments.id"), index=True)
    duties: Mapped[str | None] = mapped_column(Text)


# ---- The incident workflow -------------------------------------------------------------------


class Department(Base):
    """A department the street can summon (吹哨报到), with the time it has to report."""

    __tablename__ = "departments"
    __table_args__ = (CheckConstraint("report_limit_min > 0", name="departments_limit_pos"),)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    report_limit_min: Mapped[int] = mapped_column(Integer)


class Category(Base):
    """An incident category: default tier, departments summoned, response limit and completion deadline."""

    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint("response_limit_min > 0", name="categories_response_pos"),
        CheckConstraint("completion_limit_h > 0", name="categories_completion_pos"),
    )
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(1))
    road_related: Mapped[bool] = mapped_column(Boolean, default=False)
    departments: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    response_limit_min: Mapped[int] = mapped_column(Integer)
    completion_limit_h: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether the public sees this category's reports at all, and then their description and photos.
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    public_text: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    """An API token, stored as its SHA-256 only, with a role and the scope it may see."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[str | None] = mapped_column(String(32))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Incident(Base):
    """报事: a located report and where it stands; never deleted, its story is in incident_events."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="incidents_rating"),
        UniqueConstraint("idempotency_scope", "idempotency_key", name="incidents_idempotency"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    reporter_name: Mapped[str | None] = mapped_column(String(50))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    reporter_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    photo_urls: Mapped[list | None] = mapped_column(JSONB)
    input_location: Mapped[dict] = mapped_column(JSONB)
    street_id: Mapped[str | None] = mapped_column(ForeignKey("streets.id"), index=True)
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), index=True)
    grid_id: Mapped[str | None] = mapped_column(ForeignKey("grids.id"), index=True)
    building_id: Mapped[str | None] = mapped_column(ForeignKey("buildings.id"))
    segment_id: Mapped[str | None] = mapped_column(ForeignKey("road_segments.id"), index=True)
    chief_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"), index=True)
    worker_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"), index=True)
    tier: Mapped[str] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(20), index=True)
    assignee_kind: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[str | None] = mapped_column(String(32))
    near_boundary: Mapped[bool] = mapped_column(Boolean, default=False)
    boundary_candidates: Mapped[dict | None] = mapped_column(JSONB)
    possible_duplicates: Mapped[list | None] = mapped_column(JSONB)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completion_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rated_by: Mapped[str | None] = mapped_column(String(10))  # RATERS: the reporter, a call-back, staff
    idempotency_scope: Mapped[str | None] = mapped_column(String(80))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    geom = mapped_column(_geom("POINT"), nullable=False)


class IncidentEvent(Base):
    """One step in an incident's life: who, in what role, when, from which status to which; append-only."""

    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSONB)


class Summons(Base):
    """吹哨报到: a department summoned to an incident, and when it reported."""

    __tablename__ = "summons"
    __table_args__ = (UniqueConstraint("incident_id", "department_code", name="summons_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    summoned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_by: Mapped[str | None] = mapped_column(String(100))


# ---- Grid versions ------------------------------------------------------------------------------


class GridPreview(Base):
    """A drawing or re-split waiting to be applied: its grids, each building's grid, the quality report."""

    __tablename__ = "grid_previews"
    __table_args__ = (
        CheckConstraint("kind IN ('draw', 'resplit')", name="grid_previews_kind"),
        CheckConstraint("status IN ('preview', 'applied', 'stale')", name="grid_previews_status"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    community_ids: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    status: Mapped[str] = mapped_column(String(10), default="preview")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    base_fingerprint: Mapped[str] = mapped_column(String(64))
    target: Mapped[int] = mapped_column(Integer)
    tolerance: Mapped[float] = mapped_column(Float)
    report: Mapped[dict] = mapped_column(JSONB)
    grids: Mapped[dict] = mapped_column(JSONB)  # GeoJSON FeatureCollection, EPSG:4326
    assignments: Mapped[dict] = mapped_column(JSONB)  # building id -> grid id


class GridLineage(Base):
    """Old grid → new grid when grids change, with the households that moved: history stays traceable."""

    __tablename__ = "grid_lineage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    preview_id: Mapped[str] = mapped_column(ForeignKey("grid_previews.id"), index=True)
    old_grid_id: Mapped[str] = mapped_column(ForeignKey("grids.id"), index=True)
    new_grid_id: Mapped[str] = mapped_column(ForeignKey("grids.id"), index=True)
    households: Mapped[int] = mapped_column(Integer)
    share: Mapped[float] = mapped_column(Float)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---- Patrol logs ---------------------------------------------------------------------------------


class PatrolTrack(Base):
    """One uploaded GPS log after cleaning: its pieces, a time per vertex, and what cleaning did; kept forever."""

    __tablename__ = "patrol_tracks"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source_format: Mapped[str] = mapped_column(String(10))
    source_crs: Mapped[str] = mapped_column(String(10))
    geom = mapped_column(_geom("MULTILINESTRING"), nullable=False)
    times: Mapped[list[float]] = mapped_column(ARRAY(Float))  # epoch seconds, one per vertex of geom
    report: Mapped[dict] = mapped_column(JSONB)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# ---- The residents' register ---------------------------------------------------------------------


class SpecialGroup(Base):
    """特殊群体: a tag of the office's catalogue (独居老人, 低保 …) and how often its households are visited."""

    __tablename__ = "special_groups"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    visit_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Household(Base):
    """户: one room of one unit of a building; the register's households are the building's count."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("building_id", "unit", "room", name="households_one_per_room"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"), index=True)
    unit: Mapped[str] = mapped_column(String(20), default="")
    room: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Resident(Base):
    """居民: a member of a household; ID-card number and phone sealed with the office's key, never plain."""

    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    relation: Mapped[str | None] = mapped_column(String(20))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_mac: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ResidentGroup(Base):
    """A resident's tag, and since when (the first visit falls due one plan's interval after)."""

    __tablename__ = "resident_groups"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    group_code: Mapped[str] = mapped_column(ForeignKey("special_groups.code"), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResidentVisit(Base):
    """走访: a worker's visit to a household, with an optional GPS point; kept as recorded."""

    __tablename__ = "resident_visits"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("POINT"))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResidentAccess(Base):
    """One staff read of a person's record: who, how, when. Append-only (a trigger refuses the rest)."""

    __tablename__ = "resident_access_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(20))
    token_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---- Volunteers ----------------------------------------------------------------------------------


class VolunteerTeam(Base):
    """志愿者队伍: a patrol, mediation or service team of a street (seed 003: 60 patrol, 70 mediation)."""

    __tablename__ = "volunteer_teams"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    street_id: Mapped[str] = mapped_column(ForeignKey("streets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Volunteer(Base):
    """A member of a team, with the skills a request may ask for."""

    __tablename__ = "volunteers"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("volunteer_teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list)


class ServiceRequest(Base):
    """群众点单 → 政府派单 → 志愿者接单: a household's request, the team it went to, who took it, the hours."""

    __tablename__ = "service_requests"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    need: Mapped[str] = mapped_column(Text)
    skill: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(12), default="requested")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(100))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer_teams.id"), index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatched_by: Mapped[str | None] = mapped_column(String(100))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    hours: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))
    note: Mapped[str | None] = mapped_column(Text)


class Informant(Base):
    """网格信息员: a resident who informs one grid worker (seed 004: at least 20 per worker)."""

    __tablename__ = "informants"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
