"""GET /api/v1/health: is the database reachable, and which PostGIS answers."""

from __future__ import annotations

from flask import Blueprint, jsonify

from api.http.context import connection
from core.errors import Unavailable
from store.hierarchy import postgis_version

bp = Blueprint("health", __name__, url_prefix="/api/v1")


@bp.get("/health")
def health():
    try:
        version = postgis_version(connection())
    except Exception as exc:  # the point of a health check is to say so rather than crash
        raise Unavailable(f"数据库不可达 database unreachable: {type(exc).__name__}") from exc
    return jsonify({"status": "ok", "database": "reachable", "postgis": version})
