"""Gathering what a map needs from the database, for the API and the CLI alike."""

from __future__ import annotations

from datetime import datetime

import folium
from sqlalchemy.engine import Connection

from geo.queries import read_table
from geo.settings import get_settings
from maps.basemaps import BaseMap
from maps.board import board_map
from maps.grids import grids_map

MAP_KINDS = ("grids", "board")


def render_map(conn: Connection, kind: str, base: BaseMap) -> folium.Map:
    """Build map ``kind`` from the stored hierarchy, stamped with the database and the time read."""
    layers = {
        "streets": read_table(conn, "streets", ["id", "name"]),
        "communities": read_table(conn, "communities", ["id", "name"]),
        "grids": read_table(conn, "grids", ["id", "name", "community_id"]),
        "people": read_table(conn, "people", ["id", "name", "role", "chief_kind", "phone", "grid_id", "segment_id",
                                              "duties"]),
    }
    source = f"Wangge 数据库 database {conn.engine.url.database}"
    now = datetime.now()
    if kind == "grids":
        layers["buildings"] = read_table(conn, "buildings", ["id", "grid_id", "households"])
        return grids_map(layers, get_settings().households_band, base, source=source, data_time=now)
    if kind == "board":
        layers["road_segments"] = read_table(conn, "road_segments", ["id", "name", "from_desc", "to_desc"])
        return board_map(layers, base, source=source, data_time=now)
    raise KeyError(kind)
