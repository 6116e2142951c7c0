"""GET /api/v1/locate: one point → street, community, grid, building, segment, its chiefs, the grid worker."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from api.http.context import connection, metric_srid
from api.http.params import finite_number
from core.errors import Invalid
from core.locating import locate_one

bp = Blueprint("locating", __name__, url_prefix="/api/v1")


def _coordinate(name: str) -> float:
    value = finite_number(name, request.args.get(name))
    if value is None:
        raise Invalid(f"缺少参数 missing query parameter {name!r}")
    return value


@bp.get("/locate")
def locate():
    lon, lat = _coordinate("lon"), _coordinate("lat")
    crs = request.args.get("crs", "wgs84").lower()
    conn = connection()
    search_m = current_app.config["SEGMENT_SEARCH_M"]
    return jsonify(locate_one(conn, lon, lat, crs, srid=metric_srid(conn), search_m=search_m))
