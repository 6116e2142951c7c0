"""The Flask application factory: configuration, one database connection per request, blueprints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, jsonify

from api.http.problems import register_error_handlers
from core.vocabulary import SPATIAL_LAYERS
from geo.settings import get_settings
from store.engine import get_engine


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``test_config`` may set DATABASE_URL (or ENGINE) to point at another database."""
    app = Flask(__name__)
    settings = get_settings()
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_AS_ASCII=False,
        SEGMENT_SEARCH_M=settings.segment_search_m,
        MAX_PAGE_SIZE=settings.max_page_size,
    )
    app.json.ensure_ascii = False
    # The workflow's clock: tests inject their own to move time without sleeping.
    app.config["CLOCK"] = lambda: datetime.now(UTC)
    app.config["SETTINGS"] = settings
    if test_config:
        app.config.update(test_config)
    app.extensions["wangge_engine"] = app.config.get("ENGINE") or get_engine(
        app.config.get("DATABASE_URL")
    )
    app.extensions["wangge_hot_engine"] = app.config.get("ENGINE") or get_engine(
        app.config.get("DATABASE_URL"), generic_plans=True
    )

    @app.teardown_appcontext
    def _close_connection(_exc: BaseException | None) -> None:
        conn = g.pop("db_conn", None)
        if conn is not None:
            conn.close()

    register_error_handlers(app)
    from api.http.grids import bp as grids_bp
    from api.http.health import bp as health_bp
    from api.http.incidents import bp as incidents_bp
    from api.http.layers import bp as layers_bp
    from api.http.locating import bp as locating_bp
    from api.http.maps import bp as maps_bp
    from api.http.open311 import bp as open311_bp
    from api.http.patrols import bp as patrols_bp

    for bp in (health_bp, locating_bp, grids_bp, layers_bp, maps_bp, incidents_bp, open311_bp, patrols_bp):
        app.register_blueprint(bp)

    @app.get("/")
    def index():
        return jsonify(
            {
                "title": "网格化管理服务 Wangge",
                "api": {
                    "health": "/api/v1/health",
                    "locate": "/api/v1/locate?lon=&lat=&crs=wgs84",
                    "layers": [f"/api/v1/{name}" for name in SPATIAL_LAYERS],
                },
                "incidents": "/api/v1/incidents",
                "categories": "/api/v1/categories",
                "scores": "/api/v1/scores",
                "open311": "/open311/v2/services.json",
                "maps": {"grids": "/maps/grids", "board": "/maps/board"},
            }
        )

    return app


