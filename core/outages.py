"""What a database failure means to the person who asked: an outage is a 503 to retry later, a lost race a
409 to retry now. One rule for the API (answered as problem+json) and the command line (a message, exit 1)."""

from __future__ import annotations

from core.errors import RETRY_AFTER_S, Conflict, ServiceError, Unavailable
from store.engine import lost_race, unreachable


def database_refusal(exc: BaseException) -> ServiceError | None:
    """The refusal a database failure amounts to; None for anything that is not one."""
    if unreachable(exc):
        return Unavailable(
            f"数据库暂时不可用，请稍后重试 the database is unavailable; retry in {RETRY_AFTER_S} s"
        )
    if lost_race(exc):
        return Conflict("并发修改冲突，请重试 a concurrent change won; nothing was changed, retry")
    return None
