"""What a request carries: its database connection, its transaction, its clock and its caller.

Blueprints import these; the application factory (``api.http.app``) imports the blueprints, so
nothing here may import the factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy import Connection

from core.access import Principal
from core.errors import Unauthenticated
from core.tokens import principal_for
from store.hierarchy import metric_epsg


def connection(*, hot: bool = False) -> Connection:
    """The request's database connection (opened on first use, closed at teardown).

    ``hot`` (asked before anything else touches the database) takes it from the pool whose sessions
    run prepared statements under their generic plan: the intake's (see ``store.engine.get_engine``).
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


def workflow(conn: Connection) -> dict:
    """What every workflow step takes from the request: the clock, the settings, the metric projection."""
    return {"now": now(), "settings": current_app.config["SETTINGS"], "srid": metric_srid(conn)}


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
        raise Unauthenticated(
            "需要有效令牌 a valid token is required: send 'Authorization: Bearer <token>'",
            title="未认证 Unauthorized",
        )
    return g.principal
