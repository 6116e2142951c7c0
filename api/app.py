"""The Flask application factory: configuration, one database connection per request, blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify

from api.errors import register_error_handlers
from geo import db
from geo.settings import get_settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``test_config`` may set DATABASE_URL (or ENGINE) to point at another database."""
    app = Flask(__name__)
    settings = get_settings()
    app.config.update(MAX_CONTENT_LENGTH=settings.max_request_bytes, JSON_AS_ASCII=False,
                      SEGMENT_SEARCH_M=settings.segment_search_m, MAX_PAGE_SIZE=settings.max_page_size)
    app.json.ensure_ascii = False
    if test_config:
        app.config.update(test_config)
    app.extensions["wangge_engine"] = app.config.get("ENGINE") or db.get_engine(app.config.get("DATABASE_URL"))

    @app.teardown_appcontext
    def _close_connection(_exc: BaseException | None) -> None:
        conn = g.pop("db_conn", None)
        if conn is not None:
            conn.close()

    register_error_handlers(app)
    from api.health import bp as health_bp
    from api.layers import bp as layers_bp
    from api.locating import bp as locating_bp
    from api.maps import bp as maps_bp

    for bp in (health_bp, locating_bp, layers_bp, maps_bp):
        app.register_blueprint(bp)

    @app.get("/")
    def index():
        return jsonify({
            "title": "网格化管理服务 Wangge",
            "api": {"health": "/api/v1/health", "locate": "/api/v1/locate?lon=&lat=&crs=wgs84",
                    "layers": [f"/api/v1/{name}" for name in LAYER_ROUTES]},
            "maps": {"grids": "/maps/grids", "board": "/maps/board"},
        })

    return app


LAYER_ROUTES = ("streets", "communities", "grids", "buildings", "roads", "road_segments")


def connection():
    """The request's database connection (opened on first use, closed at teardown)."""
    from flask import current_app

    if "db_conn" not in g:
        g.db_conn = current_app.extensions["wangge_engine"].connect()
    return g.db_conn
