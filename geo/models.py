"""The district hierarchy as tables: street > community > grid > building, roads, segments, people.

Identifiers are the stable codes officials use (a grid code is its community code
plus a number), so they are the primary keys. Geometries are EPSG:4326.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326
ROLES = ("grid_worker", "grid_chief", "street_chief", "official")
CHIEF_KINDS = ("party", "merchant")


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
        CheckConstraint(f"role IN {ROLES}", name="people_role"),
        CheckConstraint(f"chief_kind IS NULL OR chief_kind IN {CHIEF_KINDS}", name="people_chief_kind"),
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
