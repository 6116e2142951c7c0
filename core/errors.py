"""One error hierarchy for every refusal the service makes, each carrying its HTTP status.

Services raise these; the HTTP adapter turns any of them into ``application/problem+json`` (Open311 into
its own error list) and the CLI prints the detail and exits 1, so no adapter ever reads a message to
guess a status. The detail names the offending value and what would be right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from pydantic import ValidationError

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


class ServiceError(Exception):
    """A refusal: nothing was changed, and ``detail`` says why. Each kind below fixes its status."""

    status: ClassVar[int] = 500

    def __init_subclass__(cls, *, status: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:  # a kind names its status; a narrower kind keeps its parent's
            cls.status = status

    def __init__(self, detail: str, *, title: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.title = title or TITLES.get(self.status, "Error")
        self.extra = extra


class Invalid(ServiceError, status=400):
    """The request itself is wrong: a malformed value, a missing field, a bad combination."""


class Unauthenticated(ServiceError, status=401):
    """No token, or one that is unknown or revoked."""


class Forbidden(ServiceError, status=403):
    """The caller is known, but their role or area does not allow this."""


class NotFound(ServiceError, status=404):
    """No such thing, or none the caller may see: existence is not leaked."""


class Conflict(ServiceError, status=409):
    """The thing's state does not allow it now: already applied, already rated, stale."""


class TooLarge(ServiceError, status=413):
    """A payload, or a request for more than the service takes at once."""


class Unprocessable(ServiceError, status=422):
    """Well formed, but the district cannot take it: outside the service area, an unknown category."""


class ServerFault(ServiceError, status=500):
    """The service is misconfigured (a map library missing, say): not the caller's fault."""


class Unavailable(ServiceError, status=503):
    """A service the request needs is down, such as the database."""


RETRY_AFTER_S = 5  # what a 503 asks a client to wait before retrying (an outage is often a restart)


def validation_detail(exc: ValidationError) -> str:
    """Every problem pydantic found in a body or a document, each with the field it is about."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {_MESSAGES.get(e['type'], e['msg'])}"
        f"{_given(e.get('input'))}"
        for e in exc.errors()
    )


# pydantic's words where plainer ones say it better.
_MESSAGES = {
    "extra_forbidden": "unknown field: not one this request takes",
    "missing": "缺少 missing: this field is required",
    "float_parsing": "not a number",
    "int_parsing": "not a whole number",
    "finite_number": "not a finite number",
}


def _given(value: object) -> str:
    """The value refused, when it is short and plain enough to quote back."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 40):
        return f" (got {value!r})"
    return ""
