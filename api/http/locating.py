"""GET /api/v1/locate: one point → street, community, grid, building, segment, its chiefs, the grid worker."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from api.http.context import connection, metric_srid
from api.http.openapi import contract
from core.inputs import LocateQuery, parse_query
from core.locating import locate_one

bp = Blueprint("locating", __name__, url_prefix="/api/v1")


@bp.get("/locate")
@contract("定位 locate", query=LocateQuery, security="public")
def locate():
    """One point: its street, community, grid, building, nearest responsible segment and who answers."""
    q = parse_query(LocateQuery, {**request.args, "crs": request.args.get("crs", "wgs84").lower()})
    conn = connection()
    search_m = current_app.config["SEGMENT_SEARCH_M"]
    return jsonify(locate_one(conn, q.lon, q.lat, q.crs, srid=metric_srid(conn), search_m=search_m))
