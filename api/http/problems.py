"""RFC 9457 problem details: every API error is ``application/problem+json`` with a precise message."""

from __future__ import annotations

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from core.errors import TITLES, ServiceError

PROBLEM_TYPE = "application/problem+json"


def problem_response(status: int, detail: str, title: str | None = None, **extra: object) -> Response:
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _refused(exc: ServiceError) -> Response:
        return problem_response(exc.status, exc.detail, exc.title, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return problem_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return problem_response(500, f"{type(exc).__name__}: the server could not complete the request")
