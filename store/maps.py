"""What the map pages read that no other room does: filtered incident points with their names, the
frames of a street's coverage page, and the grids as they stood when a re-split preview was made."""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from store.incidents import Visible, visibility_sql


def incident_points(
    conn: Connection,
    visible: Visible,
    *,
    since: datetime,
    until: datetime,
    categories: tuple[str, ...] = (),
    tiers: tuple[str, ...] = (),
    channels: tuple[str, ...] = (),
    statuses: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Visible incidents reported in [since, until), one row each (WGS-84 lon, lat); an empty filter is all."""
    where, params = visibility_sql(visible)
    sql = text(f"""
        SELECT i.id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.tier, i.reported_at, c.name_zh AS category,
               i.status, i.grid_id, g.name AS grid, i.assignee_kind, p.name AS person
        FROM incidents i JOIN categories c ON c.code = i.category_code
        LEFT JOIN grids g ON g.id = i.grid_id
        LEFT JOIN people p ON i.assignee_kind = 'person' AND p.id = i.assignee_id
        WHERE i.reported_at >= :since AND i.reported_at < :until AND {where}
          AND (cardinality(CAST(:cats AS text[])) = 0 OR i.category_code = ANY(CAST(:cats AS text[])))
          AND (cardinality(CAST(:tiers AS text[])) = 0 OR i.tier = ANY(CAST(:tiers AS text[])))
          AND (cardinality(CAST(:channels AS text[])) = 0 OR i.channel = ANY(CAST(:channels AS text[])))
          AND (cardinality(CAST(:statuses AS text[])) = 0 OR i.status = ANY(CAST(:statuses AS text[])))""")  # noqa: S608
    params |= {
        "since": since,
        "until": until,
        "cats": list(categories),
        "tiers": list(tiers),
        "channels": list(channels),
        "statuses": list(statuses),
    }
    frame = pd.read_sql(sql, conn, params=params)
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    return frame


def category_codes(conn: Connection) -> tuple[str, ...]:
    return tuple(conn.execute(text("SELECT code FROM categories ORDER BY code")).scalars())


def _frame(conn: Connection, sql: str, params: dict) -> gpd.GeoDataFrame:
    return gpd.read_postgis(text(sql), conn, geom_col="geom", params=params).rename_geometry("geometry")


def coverage_frames(
    conn: Connection, street_id: str, grids: list[str], segments: list[str], buildings: list[str]
) -> dict[str, gpd.GeoDataFrame]:
    """The named grids (with their worker), segments and buildings of a street, for the coverage page."""
    params = {"s": street_id, "g": grids, "seg": segments, "b": buildings}
    frames = {
        "grids": _frame(
            conn,
            "SELECT g.id, COALESCE(p.name, '无 none') AS worker, g.geom FROM grids g JOIN communities c "
            "ON c.id = g.community_id LEFT JOIN people p ON p.grid_id = g.id AND p.role = 'grid_worker' "
            "WHERE c.street_id = :s AND g.valid_to IS NULL AND g.id = ANY(:g) ORDER BY g.id",
            params,
        ),
        "segments": _frame(
            conn,
            "SELECT id, name, geom FROM road_segments WHERE street_id = :s AND id = ANY(:seg) ORDER BY id",
            params,
        ),
        "buildings": _frame(conn, "SELECT id, geom FROM buildings WHERE id = ANY(:b) ORDER BY id", params),
    }
    frames["grids"] = frames["grids"].drop_duplicates("id")
    return frames


def people_names(conn: Connection, ids: list[str]) -> dict[str, str]:
    return dict(conn.execute(text("SELECT id, name FROM people WHERE id = ANY(:p)"), {"p": ids}).all())


def grids_at(conn: Connection, communities: list[str], moment: datetime) -> gpd.GeoDataFrame:
    """The communities' grids as they stood at ``moment`` (versions are never deleted)."""
    return _frame(
        conn,
        """SELECT id, households, geom FROM grids WHERE community_id = ANY(:c) AND valid_from <= :t
           AND (valid_to IS NULL OR valid_to > :t) ORDER BY id""",
        {"c": communities, "t": moment},
    )


def buildings_by_id(conn: Connection, ids: list[str]) -> gpd.GeoDataFrame:
    return _frame(conn, "SELECT id, households, geom FROM buildings WHERE id = ANY(:ids)", {"ids": ids})
