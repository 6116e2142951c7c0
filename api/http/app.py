"""The Flask application factory: configuration, one database connection per request, blueprints."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider

from api.http import (
    features,
    grids,
    health,
    incidents,
    layers,
    locating,
    maps,
    open311,
    openapi,
    outbox,
    patrols,
    photos,
    residents,
    stats,
    volunteers,
)
from api.http.params import check_request_text
from api.http.problems import register_error_handlers
from core.vocabulary import SPATIAL_LAYERS, beijing_iso
from geo.settings import get_settings
from store.engine import get_engine

# One JSON line per request: who asked what and how it ended, never what they sent (no query string,
# no body), so no phone, ID-card number or description reaches a log.
request_log = logging.getLogger("wangge.request")
# A request id a client or proxy sends is kept if it is a short plain token; anything else is replaced.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Every route of the service, by room; /ogc is OGC API - Features beside the JSON API.
BLUEPRINTS = (
    health.bp,
    openapi.bp,
    openapi.docs_bp,  # /docs
    locating.bp,
    grids.bp,
    layers.bp,
    maps.bp,
    incidents.bp,
    open311.bp,
    outbox.bp,
    photos.bp,
    patrols.bp,
    residents.bp,
    residents.maps_bp,  # the staff-only overdue-visits page
    volunteers.bp,
    stats.bp,
    features.bp,
)


# What `/` lists: where each part of the service starts.
INDEX = {
    "title": "网格化管理服务 Wangge",
    "api": {
        "health": "/api/v1/health",
        "locate": "/api/v1/locate?lon=&lat=&crs=wgs84",
        "layers": [f"/api/v1/{name}" for name in SPATIAL_LAYERS],
    },
    "incidents": "/api/v1/incidents",
    "categories": "/api/v1/categories",
    "scores": "/api/v1/scores",
    "stats": "/api/v1/stats",
    "outbox": "/api/v1/outbox",
    "open311": "/open311/v2/services.json",
    "ogc_features": "/ogc",
    "docs": "/docs",
    "openapi": "/api/v1/openapi.json",
    "maps": {"grids": "/maps/grids", "board": "/maps/board"},
}


class WanggeJSON(DefaultJSONProvider):
    """JSON as people here read it: Chinese unescaped, every time in Beijing time with its offset."""

    ensure_ascii = False

    @staticmethod
    def default(o: object) -> Any:
        if isinstance(o, datetime):
            return beijing_iso(o)
        return DefaultJSONProvider.default(o)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``test_config`` may set DATABASE_URL (or ENGINE) to point at another database."""
    app = Flask(__name__)
    app.json = WanggeJSON(app)
    settings = get_settings()
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_AS_ASCII=False,
        SEGMENT_SEARCH_M=settings.segment_search_m,
        MAX_PAGE_SIZE=settings.max_page_size,
    )
    # The workflow's clock: tests inject their own to move time without sleeping.
    app.config["CLOCK"] = lambda: datetime.now(UTC)
    app.config["SETTINGS"] = settings
    if test_config:
        app.config.update(test_config)
    app.extensions["wangge_engine"] = app.config.get("ENGINE") or get_engine(app.config.get("DATABASE_URL"))
    app.extensions["wangge_hot_engine"] = app.config.get("ENGINE") or get_engine(
        app.config.get("DATABASE_URL"), generic_plans=True
    )

    @app.teardown_appcontext
    def _close_connection(_exc: BaseException | None) -> None:
        # Runs after the answer is made: an error here would escape every handler and reach the WSGI
        # server, which answers a bare HTML 500. A connection that cannot close is broken: discard it.
        conn = g.pop("db_conn", None)
        if conn is None:
            return
        try:
            conn.close()
        except Exception as exc:
            conn.invalidate(exc)

    register_error_handlers(app)
    _log_requests(app)
    app.before_request(photos.allow_photo_bodies)  # before the form is read
    app.before_request(check_request_text)  # no control character in a path, query or form
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.get("/")
    def index():
        return jsonify(INDEX)

    return app


def _log_requests(app: Flask) -> None:
    """Give every request an id (answered as ``X-Request-Id``) and log one JSON line when it ends."""
    if not request_log.handlers:  # one handler per process, however many apps it builds
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        request_log.addHandler(handler)
        request_log.setLevel(logging.INFO)

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        sent = request.headers.get("X-Request-Id", "")
        g.request_id = sent if _SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex

    @app.after_request
    def _log(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex  # a request refused before it started
        response.headers["X-Request-Id"] = request_id
        caller = g.get("principal")
        elapsed_s = time.perf_counter() - g.get("request_started", time.perf_counter())
        line = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(elapsed_s * 1000, 1),
            "role": caller.role if caller else None,
            "token_id": caller.token_id if caller else None,
        }
        request_log.info(json.dumps(line, ensure_ascii=False))
        return response
