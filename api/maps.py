"""GET /maps/...: Folium maps rendered from the stored hierarchy."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app

from api.app import connection
from geo.queries import read_table
from geo.settings import get_settings
from maps.grids import grids_map

bp = Blueprint("maps", __name__, url_prefix="/maps")


@bp.get("/grids")
def grids():
    conn = connection()
    layers = {
        "streets": read_table(conn, "streets", ["id", "name"]),
        "communities": read_table(conn, "communities", ["id", "name"]),
        "grids": read_table(conn, "grids", ["id", "name", "community_id"]),
        "buildings": read_table(conn, "buildings", ["id", "grid_id", "households"]),
        "people": read_table(conn, "people", ["id", "name", "role", "phone", "grid_id"]),
    }
    source = f"Wangge 数据库 database {current_app.extensions['wangge_engine'].url.database}"
    fmap = grids_map(layers, get_settings().households_band, source=source, data_time=datetime.now())
    return Response(fmap.get_root().render(), mimetype="text/html")
