"""RFC 9457 problem details: every API error is ``application/problem+json`` with a precise message."""

from __future__ import annotations

import traceback

from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException

from core.errors import RETRY_AFTER_S, TITLES, ServiceError
from core.outages import database_refusal

PROBLEM_TYPE = "application/problem+json"


def problem_response(status: int, detail: str, title: str | None = None, **extra: object) -> Response:
    """A problem document; a 503 tells the client when to try again (``Retry-After``)."""
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _refused(exc: ServiceError) -> Response:
        return problem_response(exc.status, exc.detail, exc.title, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return problem_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        refusal = database_refusal(exc)
        if refusal is not None:
            return _refused(refusal)
        # The stack and the kind of error, never its message: messages can quote what a caller sent
        # (a phone, a description), and logs must not hold such things.
        app.logger.error(
            "unhandled %s on %s %s (request %s)\n%s",
            type(exc).__name__,
            request.method,
            request.path,
            g.get("request_id"),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return problem_response(500, f"{type(exc).__name__}: the server could not complete the request")
