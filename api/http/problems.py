"""RFC 9457 problem details: every API error is ``application/problem+json`` with a precise message."""

from __future__ import annotations

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from api.http.params import ParamError

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "请求有误 Bad request",
    401: "未认证 Unauthorized",
    403: "无权操作 Forbidden",
    404: "未找到 Not found",
    405: "方法不允许 Method not allowed",
    409: "状态冲突 Conflict",
    413: "请求体过大 Payload too large",
    422: "无法处理 Unprocessable",
    500: "服务器错误 Internal server error",
    503: "服务不可用 Service unavailable",
}


class ApiProblem(Exception):
    """Raise from a view to answer with a problem document."""

    def __init__(self, status: int, detail: str, title: str | None = None, **extra: object):
        super().__init__(detail)
        self.status, self.detail, self.title, self.extra = (
            status,
            detail,
            title or TITLES.get(status, "Error"),
            extra,
        )


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
    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem_response(exc.status, exc.detail, exc.title, **exc.extra)

    @app.errorhandler(ParamError)
    def _param(exc: ParamError) -> Response:
        return problem_response(400, str(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return problem_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return problem_response(500, f"{type(exc).__name__}: the server could not complete the request")
