"""Reading the stored hierarchy: layers as frames, lookups by id, the service area's metric projection.

Every value travels as a bound parameter; table and column names come only from
our own models, never from a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from geo.locate import Hierarchy, metric_epsg_for_bounds
from store import models

TABLES = {
    m.__tablename__: m
    for m in (
        models.Street,
        models.Community,
        models.Grid,
        models.Building,
        models.Road,
        models.RoadSegment,
        models.Person,
    )
}
SPATIAL = {name for name in TABLES if name != "people"}


def _columns(table: str, columns: Sequence[str] | None) -> list[str]:
    known = [c.name for c in TABLES[table].__table__.columns if c.name != "geom"]
    if columns is None:
        return known
    unknown = set(columns) - set(known)
    if unknown:
        raise KeyError(f"{table} has no column {', '.join(sorted(unknown))}")
    return list(columns)


def read_table(
    conn: Connection,
    table: str,
    columns: Sequence[str] | None = None,
    *,
    include_history: bool = False,
    bbox: Sequence[float] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    """A whole table as a (Geo)DataFrame in EPSG:4326; grids are current ones unless ``include_history``."""
    cols = _columns(table, columns)
    clause, params = _table_where(table, include_history, bbox)
    clause += " ORDER BY id OFFSET :offset" + (" LIMIT :limit" if limit is not None else "")
    params.update(offset=int(offset), limit=limit)
    select_cols = ", ".join(f'"{c}"' for c in cols)
    if table in SPATIAL:
        sql = text(f'SELECT {select_cols}, geom FROM "{table}"{clause}')  # noqa: S608 (names from models)
        frame = gpd.read_postgis(sql, conn, geom_col="geom", params=params)
        return frame.rename_geometry("geometry").set_crs(4326, allow_override=True)
    sql = text(f'SELECT {select_cols} FROM "{table}"{clause}')  # noqa: S608 (names from models)
    return pd.read_sql(sql, conn, params=params)


def _table_where(
    table: str, include_history: bool, bbox: Sequence[float] | None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of a layer read: current grids only unless ``include_history``; within ``bbox``."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if table == "grids" and not include_history:
        where.append("valid_to IS NULL")
    if bbox is not None and table in SPATIAL:
        where.append("geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
        params.update(dict(zip(("minx", "miny", "maxx", "maxy"), map(float, bbox), strict=True)))
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def count_table(
    conn: Connection, table: str, *, include_history: bool = False, bbox: Sequence[float] | None = None
) -> int:
    """How many rows a read of ``table`` with these filters matches (every page together)."""
    clause, params = _table_where(table, include_history, bbox)
    return conn.execute(text(f'SELECT count(*) FROM "{table}"{clause}'), params).scalar_one()  # noqa: S608


def layer_extent(conn: Connection, table: str) -> tuple[float, float, float, float] | None:
    """A layer's WGS-84 bounds (current grids only); None when it is empty."""
    clause, params = _table_where(table, False, None)
    # The table name comes from the models (SPATIAL); values are bound.
    corners = "ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
    sql = f'SELECT {corners} FROM (SELECT ST_Extent(geom) AS e FROM "{table}"{clause}) s'  # noqa: S608
    row = conn.execute(text(sql), params).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def load_hierarchy(conn: Connection) -> Hierarchy:
    """The stored hierarchy in memory, ready for ``geo.locate.Locator``."""
    return Hierarchy(
        streets=read_table(conn, "streets", ["id", "name"]),
        communities=read_table(conn, "communities", ["id", "name", "street_id"]),
        grids=read_table(conn, "grids", ["id", "name", "community_id", "households"]),
        buildings=read_table(conn, "buildings", ["id", "name", "grid_id"]),
        road_segments=read_table(conn, "road_segments", ["id", "name", "street_id", "road_name"]),
        people=read_table(conn, "people"),
    )


def containing(conn: Connection, table: str, lon: Sequence[float], lat: Sequence[float]) -> list[str | None]:
    """The id of the ``table`` feature (a current grid, or a street) covering each point, the lowest id where
    two share an edge (as locating does); None outside them all."""
    if table not in ("grids", "streets"):
        raise ValueError(f"containing() reads grids or streets, not {table!r}")
    current = "AND t.valid_to IS NULL" if table == "grids" else ""
    sql = text(f"""
        SELECT (SELECT t.id FROM "{table}" t
                WHERE ST_Covers(t.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) {current}
                ORDER BY t.id LIMIT 1)
        FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) WITH ORDINALITY AS p(lon, lat, n)
        ORDER BY p.n""")  # noqa: S608 (the table is one of two names checked above; points are bound)
    return list(conn.execute(sql, {"lon": list(map(float, lon)), "lat": list(map(float, lat))}).scalars())


def service_bounds(conn: Connection) -> tuple[float, float, float, float] | None:
    """The stored streets' WGS-84 bounds (min lon, min lat, max lon, max lat); None with no street."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM streets) s"
        )
    ).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def metric_epsg(conn: Connection) -> int:
    """UTM zone of the stored service area's centre (the same rule as ``Hierarchy.metric_epsg``)."""
    return metric_epsg_for_bounds(service_bounds(conn) or (0.0, 0.0, 0.0, 0.0))


def get_feature(conn: Connection, table: str, feature_id: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """One row by id (grids: any version), as a one-row frame; empty when unknown."""
    cols = ", ".join(f'"{c}"' for c in _columns(table, None))
    if table in SPATIAL:
        sql = text(f'SELECT {cols}, geom FROM "{table}" WHERE id = :id')  # noqa: S608 (names from models)
        frame = gpd.read_postgis(sql, conn, geom_col="geom", params={"id": feature_id})
        return frame.rename_geometry("geometry").set_crs(4326, allow_override=True)
    sql = text(f'SELECT {cols} FROM "{table}" WHERE id = :id')  # noqa: S608 (names from models)
    return pd.read_sql(sql, conn, params={"id": feature_id})


def postgis_version(conn: Connection) -> str:
    return conn.execute(text("SELECT postgis_full_version()")).scalar_one().split('"')[1]


def streets_of(conn: Connection, communities: list[str]) -> list[str]:
    """The distinct streets the given communities belong to."""
    sql = text("SELECT DISTINCT street_id FROM communities WHERE id = ANY(:c) ORDER BY street_id")
    return list(conn.execute(sql, {"c": communities}).scalars())


def street_exists(conn: Connection, street_id: str) -> bool:
    return conn.execute(text("SELECT 1 FROM streets WHERE id = :s"), {"s": street_id}).first() is not None


def person_in_area(conn: Connection, person_id: str, area: tuple[str, str | None] | None) -> bool:
    """Whether a person exists within an admin's area ((street|community, id); None: anywhere)."""
    kind, scope = area or (None, None)
    row = conn.execute(
        text("""
        SELECT p.id FROM people p LEFT JOIN grids g ON g.id = p.grid_id
        LEFT JOIN communities c ON c.id = COALESCE(p.community_id, g.community_id)
        WHERE p.id = :p AND (CAST(:street AS text) IS NULL OR COALESCE(p.street_id, c.street_id) = :street)
          AND (CAST(:community AS text) IS NULL OR c.id = :community)"""),
        {
            "p": person_id,
            "street": scope if kind == "street" else None,
            "community": scope if kind == "community" else None,
        },
    ).first()
    return row is not None


def street_ids(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT id FROM streets ORDER BY id")).scalars())


def address_point(conn: Connection, address: str) -> tuple[float, float] | None:
    """A point for an address: a building (by name, or compound + name), else a responsible segment (by its
    name or its road's), lowest id first; None when nothing in the district matches."""
    row = conn.execute(
        text("""
        SELECT ST_X(pt), ST_Y(pt) FROM (
          SELECT ST_PointOnSurface(geom) AS pt, 0 AS pri, id FROM buildings
           WHERE name = :a OR coalesce(compound, '') || name = :a
          UNION ALL
          SELECT ST_LineInterpolatePoint(geom, 0.5), 1, id FROM road_segments WHERE name = :a OR road_name = :a
        ) m ORDER BY pri, id LIMIT 1"""),
        {"a": address.strip()},
    ).first()
    return (row[0], row[1]) if row else None


def building_point(conn: Connection, building_id: str) -> tuple[float, float] | None:
    """A point inside a building (Open311's ``address_id``); None for an unknown id."""
    row = conn.execute(
        text(
            "SELECT ST_X(pt), ST_Y(pt) FROM (SELECT ST_PointOnSurface(geom) AS pt FROM buildings WHERE id = :b) s"
        ),
        {"b": building_id},
    ).first()
    return (row[0], row[1]) if row else None


def stored_ids(session: Session, model: type[models.Base]) -> set[str]:
    """Every id a layer's table holds (grids: every version)."""
    return set(session.scalars(select(model.id)))  # type: ignore[attr-defined]


def insert_rows(session: Session, model: type[models.Base], records: list[dict], batch: int = 5000) -> None:
    """Insert checked rows in batches, in the caller's transaction (an import is all or nothing)."""
    for start in range(0, len(records), batch):
        session.execute(insert(model), records[start : start + batch])


def street_outline(conn: Connection, street_id: str) -> gpd.GeoDataFrame:
    """A street's outline (id, name, geometry); empty when there is no such street."""
    sql = text("SELECT id, name, geom FROM streets WHERE id = :s")
    frame = gpd.read_postgis(sql, conn, geom_col="geom", params={"s": street_id})
    return frame.rename_geometry("geometry")


def street_roads(conn: Connection, street_id: str) -> gpd.GeoDataFrame:
    """A street's roads (name, geom): the network a patrol walks and coverage measures."""
    sql = text("SELECT name, geom FROM roads WHERE street_id = :s")
    return gpd.read_postgis(sql, conn, geom_col="geom", params={"s": street_id})


def person_exists(conn: Connection, person_id: str) -> bool:
    return conn.execute(text("SELECT 1 FROM people WHERE id = :i"), {"i": person_id}).first() is not None
