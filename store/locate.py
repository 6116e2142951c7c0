"""The online locate: points to grid, community, street, building, nearest segment and its people, in PostGIS.

The bulk path (``geo.locate.Locator``) gives the same answers in memory; tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.locate import OK, OUTSIDE
from store.engine import driver_rows

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
