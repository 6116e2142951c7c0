"""The Flask application factory: configuration, one database connection per request, blueprints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from sqlalchemy import Connection

from api.auth import Principal, principal_for
from api.errors import ApiProblem, register_error_handlers
from geo import db
from geo.queries import metric_epsg
from geo.settings import get_settings


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
    app.extensions["wangge_engine"] = app.config.get("ENGINE") or db.get_engine(
        app.config.get("DATABASE_URL")
    )
    app.extensions["wangge_hot_engine"] = app.config.get("ENGINE") or db.get_engine(
        app.config.get("DATABASE_URL"), generic_plans=True
    )

    @app.teardown_appcontext
    def _close_connection(_exc: BaseException | None) -> None:
        conn = g.pop("db_conn", None)
        if conn is not None:
            conn.close()

    register_error_handlers(app)
    from api.grids import bp as grids_bp
    from api.health import bp as health_bp
    from api.incidents import bp as incidents_bp
    from api.layers import bp as layers_bp
    from api.locating import bp as locating_bp
    from api.maps import bp as maps_bp
    from api.open311 import bp as open311_bp
    from api.patrols import bp as patrols_bp

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
                    "layers": [f"/api/v1/{name}" for name in LAYER_ROUTES],
                },
                "incidents": "/api/v1/incidents",
                "categories": "/api/v1/categories",
                "scores": "/api/v1/scores",
                "open311": "/open311/v2/services.json",
                "maps": {"grids": "/maps/grids", "board": "/maps/board"},
            }
        )

    return app


LAYER_ROUTES = ("streets", "communities", "grids", "buildings", "roads", "road_segments")


def connection(*, hot: bool = False) -> Connection:
    """The request's database connection (opened on first use, closed at teardown).

    ``hot`` (asked before anything else touches the database) takes it from the pool whose sessions
    run prepared statements under their generic plan: the intake's (see ``geo.db.get_engine``).
    """
    if "db_conn" not in g:
        g.db_conn = current_app.extensions["wangge_hot_engine" if hot else "wangge_engine"].connect()
    return g.db_conn


@contextmanager
def transaction() -> Iterator[Connection]:
    """The request's connection, committed if the block succeeds and rolled back if it raises."""
    conn = connection()
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def now() -> datetime:
    clock: Callable[[], datetime] = current_app.config["CLOCK"]
    return clock()


def metric_srid(conn: Connection) -> int:
    """UTM zone of the service area, asked of PostGIS once per process (it rarely changes)."""
    cache = current_app.extensions.setdefault("wangge_metric_epsg", {})
    if "epsg" not in cache:
        cache["epsg"] = metric_epsg(conn)
    return cache["epsg"]


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.values.get("api_key") or None


def principal(*, required: bool = True) -> Principal | None:
    """Who is calling; 401 when a token is required and missing, unknown or revoked."""
    if "principal" not in g:
        g.principal = principal_for(connection(), presented_token())
    if g.principal is None and required:
        raise ApiProblem(
            401,
            "需要有效令牌 a valid token is required: send 'Authorization: Bearer <token>'",
            title="未认证 Unauthorized",
        )
    return g.principal
