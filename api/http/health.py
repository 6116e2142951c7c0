"""Health: ``/health`` (the database and its PostGIS), ``/health/live`` (the process answers; no database)
and ``/health/ready`` (the database answers and its schema is at the newest migration). A load balancer
restarts what is not live and sends no traffic to what is not ready."""

from __future__ import annotations

from flask import Blueprint, jsonify

from api.http.context import connection
from api.http.openapi import contract
from core.errors import Unavailable
from store.hierarchy import postgis_version
from store.migrate import at_head

bp = Blueprint("health", __name__, url_prefix="/api/v1")
TAG = "运维 operations"


@bp.get("/health")
@contract(TAG, security="public")
def health():
    try:
        version = postgis_version(connection())
    except Exception as exc:  # the point of a health check is to say so rather than crash
        raise Unavailable(f"数据库不可达 database unreachable: {type(exc).__name__}") from exc
    return jsonify({"status": "ok", "database": "reachable", "postgis": version})


@bp.get("/health/live")
@contract(TAG, security="public")
def live():
    return jsonify({"status": "live"})


@bp.get("/health/ready")
@contract(TAG, security="public")
def ready():
    # An unreachable database raises here and is answered 503 like every route's outage.
    if not at_head(connection()):
        raise Unavailable(
            "数据库结构不是最新 the schema is not at the newest migration: run `wangge db upgrade`"
        )
    return jsonify({"status": "ready", "database": "reachable", "schema": "at head"})
