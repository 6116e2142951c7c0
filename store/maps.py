"""What the map pages read that no other room does: filtered incident points with their names, the
frames of a street's coverage page, and the grids as they stood when a re-split preview was made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from geo.heat import BEIJING_S, HEAT_CELL_M, TIER_WEIGHTS, TIME_CELLS_M, HeatCells, cell_scale
from store.incidents import Visible, visibility_sql


@dataclass(frozen=True)
class IncidentQuery:
    """Which incidents a map reads: those ``visible`` reported in [since, until); an empty filter is all."""

    visible: Visible
    since: datetime
    until: datetime
    categories: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def where(self) -> tuple[str, dict]:
        """The condition on incidents ``i``, with its parameters."""
        seen, params = visibility_sql(self.visible)
        condition = f"""i.reported_at >= :since AND i.reported_at < :until AND {seen}
          AND (cardinality(CAST(:cats AS text[])) = 0 OR i.category_code = ANY(CAST(:cats AS text[])))
          AND (cardinality(CAST(:tiers AS text[])) = 0 OR i.tier = ANY(CAST(:tiers AS text[])))
          AND (cardinality(CAST(:channels AS text[])) = 0 OR i.channel = ANY(CAST(:channels AS text[])))
          AND (cardinality(CAST(:statuses AS text[])) = 0 OR i.status = ANY(CAST(:statuses AS text[])))"""
        return condition, params | {
            "since": self.since,
            "until": self.until,
            "cats": list(self.categories),
            "tiers": list(self.tiers),
            "channels": list(self.channels),
            "statuses": list(self.statuses),
        }


def incident_points(conn: Connection, asked: IncidentQuery, newest: int | None = None) -> pd.DataFrame:
    """The incidents asked, one row each (WGS-84 lon, lat, with their names); ``newest``: only that many of
    the most recently reported."""
    where, params = asked.where()
    sql = text(f"""
        SELECT i.id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.tier, i.reported_at, c.name_zh AS category,
               i.status, i.grid_id, g.name AS grid, i.assignee_kind, p.name AS person
        FROM incidents i JOIN categories c ON c.code = i.category_code
        LEFT JOIN grids g ON g.id = i.grid_id
        LEFT JOIN people p ON i.assignee_kind = 'person' AND p.id = i.assignee_id
        WHERE {where}
        {"ORDER BY i.reported_at DESC, i.id DESC LIMIT :newest" if newest is not None else ""}""")  # noqa: S608
    frame = pd.read_sql(sql, conn, params=params | {"newest": newest})
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    return frame


def incident_cells(conn: Connection, asked: IncidentQuery, step: str) -> HeatCells:
    """The incidents asked, summed in PostGIS into the heat page's cells: ``HEAT_CELL_M`` cells of all times
    together, and ``TIME_CELLS_M[0]`` cells per Beijing ``step`` (day, or week from Monday).

    One scan of the incidents into two hash aggregates, so a million incidents come back as the thousands of
    cells a page draws (grouping sets would sort the million rows instead); the cells are exactly ``geo.heat.bin_points``'s
    with ``lat0`` the middle of the service area.
    """
    lat0 = float(
        conn.execute(text("SELECT COALESCE(ST_Y(ST_Centroid(ST_Extent(geom))), 0) FROM streets")).scalar_one()
    )
    where, params = asked.where()
    weight = " ".join(f"WHEN '{t}' THEN {w}" for t, w in TIER_WEIGHTS.items())
    day = f"CAST(floor((date_part('epoch', i.reported_at) + {BEIJING_S}) / 86400) AS bigint)"  # float, not numeric
    key = day if step == "day" else f"{day} - mod({day} + 3, 7)"  # 1970-01-01 was a Thursday
    w = f"CAST(CASE i.tier {weight} ELSE 1 END AS float8)"
    sums = "sum(w * x) / sum(w) AS lon, sum(w * y) / sum(w) AS lat, sum(w) AS weight, count(*) AS n"
    sql = text(f"""
        WITH p AS MATERIALIZED (
            SELECT ST_X(i.geom) AS x, ST_Y(i.geom) AS y, {w} AS w, {key} AS key FROM incidents i WHERE {where})
        SELECT true AS whole, 0 AS key, {sums} FROM p GROUP BY floor(x * :x0), floor(y * :y0)
        UNION ALL
        SELECT false, key, {sums} FROM p GROUP BY key, floor(x * :x1), floor(y * :y1)""")  # noqa: S608
    (x0, y0), (x1, y1) = cell_scale(lat0, HEAT_CELL_M), cell_scale(lat0, TIME_CELLS_M[0])
    # For this transaction: no JIT (compiling costs more than the scan saves) and room to keep the scanned
    # points in memory while both aggregates read them.
    conn.execute(text("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)"))
    rows = pd.read_sql(sql, conn, params=params | {"x0": x0, "y0": y0, "x1": x1, "y1": y1})
    whole = rows.pop("whole").astype(bool)
    cells, frames = (rows[w].reset_index(drop=True) for w in (whole, ~whole))
    return HeatCells(int(cells["n"].sum()), cells, frames, lat0)


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
