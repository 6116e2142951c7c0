"""What planning a patrol reads: a street's roads, the place to walk (a grid, a street or a chief's
segment) with its street, the frames that label the network's edges, and the incidents a hot-spot
patrol weighs. Frames keep PostGIS's ``geom`` column."""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
from sqlalchemy import Connection, text

# The area to walk, by what names it: its outline as WKB, and its street.
_AREAS = {
    "grid": "SELECT ST_AsBinary(g.geom), c.street_id FROM grids g JOIN communities c "
    "ON c.id = g.community_id WHERE g.id = :k AND g.valid_to IS NULL",
    "street": "SELECT ST_AsBinary(geom), id FROM streets WHERE id = :k",
    "chief": "SELECT ST_AsBinary(s.geom), s.street_id FROM people p JOIN road_segments s "
    "ON s.id = p.segment_id WHERE p.id = :k AND p.role = 'street_chief'",
}
# What labels a street's network edges: its current grids, communities and segments.
_LABELS = {
    "grids": "SELECT g.id, g.geom FROM grids g JOIN communities c ON c.id = g.community_id "
    "WHERE c.street_id = :s AND g.valid_to IS NULL",
    "communities": "SELECT id, geom FROM communities WHERE street_id = :s",
    "segments": "SELECT id, geom FROM road_segments WHERE street_id = :s",
}


def _frame(conn: Connection, sql: str, params: dict) -> gpd.GeoDataFrame:
    return gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)


def area_row(conn: Connection, kind: str, key: str) -> tuple[bytes, str] | None:
    """The outline (WKB) of the grid, street or chief's segment ``key``, and its street; None if unknown."""
    row = conn.execute(text(_AREAS[kind]), {"k": key}).first()
    return None if row is None else (row[0], row[1])


def label_frames(conn: Connection, street_id: str) -> dict[str, gpd.GeoDataFrame]:
    """A street's grids, communities and segments (id, geom), to label its network's edges with."""
    return {name: _frame(conn, sql, {"s": street_id}) for name, sql in _LABELS.items()}


def incidents_near(conn: Connection, area_wkt: str, days: int, until: datetime | None) -> gpd.GeoDataFrame:
    """Incidents (tier, geom) reported in the ``days`` before ``until`` (default: the database's now) within
    300 m of the area."""
    return _frame(
        conn,
        "SELECT tier, geom FROM incidents WHERE reported_at >= COALESCE(CAST(:u AS timestamptz), now()) - "
        "make_interval(days => :d) AND reported_at <= COALESCE(CAST(:u AS timestamptz), now()) "
        "AND ST_DWithin(geom::geography, ST_GeomFromText(:a, 4326)::geography, 300)",
        {"d": days, "a": area_wkt, "u": until},
    )
