"""Reading the stored hierarchy: layers as frames, the online one-point locate, lookups by id.

Every value travels as a bound parameter; table and column names come only from
our own models, never from a request.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import models
from geo.db import driver_rows
from geo.locate import OK, OUTSIDE, Hierarchy, metric_epsg_for_bounds

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
    where, params = [], {}
    if table == "grids" and not include_history:
        where.append("valid_to IS NULL")
    if bbox is not None and table in SPATIAL:
        where.append("geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
        params.update(dict(zip(("minx", "miny", "maxx", "maxy"), map(float, bbox), strict=True)))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    clause += " ORDER BY id OFFSET :offset" + (" LIMIT :limit" if limit is not None else "")
    params.update(offset=int(offset), limit=limit)
    select_cols = ", ".join(f'"{c}"' for c in cols)
    if table in SPATIAL:
        sql = text(f'SELECT {select_cols}, geom FROM "{table}"{clause}')  # noqa: S608 (names from models)
        frame = gpd.read_postgis(sql, conn, geom_col="geom", params=params)
        return frame.rename_geometry("geometry").set_crs(4326, allow_override=True)
    sql = text(f'SELECT {select_cols} FROM "{table}"{clause}')  # noqa: S608 (names from models)
    return pd.read_sql(sql, conn, params=params)


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


def metric_epsg(conn: Connection) -> int:
    """UTM zone of the stored service area's centre (the same rule as ``Hierarchy.metric_epsg``)."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM streets) s"
        )
    ).one()
    if row[0] is None:
        return metric_epsg_for_bounds((0.0, 0.0, 0.0, 0.0))
    return metric_epsg_for_bounds(row)


# The points to locate: many from two arrays, or one from two numbers. The one-point form lets
# PostgreSQL keep a generic plan for the prepared statement (with an array of unknown length it
# plans every call afresh, which costs more than running it).
_MANY_POINTS = """SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g, y AS lat
    FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS t(x, y, i)"""
_ONE_POINT = """SELECT CAST(1 AS bigint) AS i, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g,
    CAST(:lat AS float8) AS lat"""

_LOCATE = """
WITH p AS ({points})
SELECT p.i, grid.id AS grid_id, grid.name AS grid_name, c.id AS community_id, c.name AS community_name,
       st.id AS street_id, st.name AS street_name, bld.id AS building_id, bld.name AS building_name,
       seg.id AS segment_id, seg.name AS segment_name, seg.road_name, seg.from_desc, seg.to_desc,
       seg.d AS segment_distance_m, ppl.people
FROM p
LEFT JOIN LATERAL (
    SELECT g.id, g.name, g.community_id FROM grids g
    WHERE g.valid_to IS NULL AND ST_Covers(g.geom, p.g) ORDER BY g.id LIMIT 1) AS grid ON true
LEFT JOIN communities c ON c.id = grid.community_id
LEFT JOIN streets st ON st.id = c.street_id
LEFT JOIN LATERAL (
    SELECT b.id, b.name FROM buildings b
    WHERE grid.id IS NOT NULL AND ST_Covers(b.geom, p.g) ORDER BY b.id LIMIT 1) AS bld ON true
LEFT JOIN LATERAL (
    SELECT s.id, s.name, s.road_name, s.from_desc, s.to_desc, dd.d
    FROM road_segments s,
         LATERAL (SELECT ST_Distance(ST_Transform(s.geom, :srid), ST_Transform(p.g, :srid)) AS d) AS dd
    WHERE grid.id IS NOT NULL
      -- a box in degrees that surely holds everything within :search metres
      AND s.geom && ST_Expand(p.g, :dlat / greatest(cos(radians(least(abs(p.lat), 89))), 1e-6), :dlat)
      AND dd.d <= :search
    ORDER BY floor(dd.d * 1000 + 0.5), s.id LIMIT 1) AS seg ON true
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('id', pp.id, 'name', pp.name, 'role', pp.role, 'chief_kind', pp.chief_kind,
                                      'phone', pp.phone) ORDER BY pp.role, pp.chief_kind, pp.id) AS people
    FROM people pp
    WHERE CAST(:with_people AS boolean)
      AND ((pp.role = 'grid_worker' AND pp.grid_id = grid.id)
           OR (pp.role = 'street_chief' AND pp.segment_id = seg.id))) AS ppl ON true
ORDER BY p.i
"""
_LOCATE_SQL = text(_LOCATE.format(points=_MANY_POINTS))
_LOCATE_ONE_SQL = text(_LOCATE.format(points=_ONE_POINT))


def locate_points(
    conn: Connection,
    lons: Sequence[float],
    lats: Sequence[float],
    *,
    srid: int,
    search_m: float,
    with_people: bool = False,
) -> list[dict]:
    """The online path, set-based: WGS-84 points located by PostGIS in one query.

    ``with_people`` adds ``grid_workers`` and ``street_chiefs`` to each row.
    """
    params = {"lons": [float(v) for v in lons], "lats": [float(v) for v in lats]}
    return _located(
        driver_rows(conn, _LOCATE_SQL, {**params, **_locate_params(srid, search_m, with_people)}), with_people
    )


def _locate_params(srid: int, search_m: float, with_people: bool) -> dict:
    return {"srid": srid, "dlat": search_m / 110_000.0 * 1.05, "search": search_m, "with_people": with_people}


def _located(rows: list[dict], with_people: bool) -> list[dict]:
    for r in rows:
        r["status"] = OK if r["grid_id"] else OUTSIDE
        people = r.pop("people") or []
        if with_people:
            r["grid_workers"] = [p for p in people if p["role"] == "grid_worker"]
            r["street_chiefs"] = [p for p in people if p["role"] == "street_chief"]
    return rows


def locate_point(conn: Connection, lon: float, lat: float, *, srid: int, search_m: float) -> dict:
    """One WGS-84 point located by PostGIS, with names, the grid worker and the segment's chiefs."""
    params = {"lon": float(lon), "lat": float(lat), **_locate_params(srid, search_m, True)}
    return _located(driver_rows(conn, _LOCATE_ONE_SQL, params), True)[0]


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
