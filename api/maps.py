"""GET /maps/...: Folium maps rendered from the stored hierarchy."""

from __future__ import annotations

from datetime import datetime

import folium
from flask import Blueprint, Response, current_app, send_from_directory

from api.app import connection
from api.errors import ApiProblem
from geo.queries import read_table
from geo.settings import get_settings
from maps.assets import STATIC_PREFIX, AssetError, localise, vendor_dir
from maps.grids import grids_map

bp = Blueprint("maps", __name__)


def page(fmap: folium.Map) -> Response:
    """The map as HTML whose every script and stylesheet is served from here (works offline)."""
    try:
        html = localise(fmap.get_root().render())
    except AssetError as exc:
        raise ApiProblem(500, f"地图资源缺失 map asset missing: {exc}") from None
    return Response(html, mimetype="text/html")


@bp.get(f"{STATIC_PREFIX}/<path:path>")
def vendor(path: str):
    """Leaflet and its plugins, installed by `wangge assets` (never a public CDN)."""
    return send_from_directory(vendor_dir(), path, max_age=86400)


@bp.get("/maps/grids")
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
    return page(fmap)
