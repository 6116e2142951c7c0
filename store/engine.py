"""Engines and connections: one pool per URL, the generic-plan pool of the hot path, the driver's fast path.

``DATABASE_URL`` names the server when set; otherwise the embedded cluster (``store.cluster``) is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Connection, TextClause, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from store.cluster import ClusterError, EmbeddedCluster


def database_url() -> str:
    """``DATABASE_URL`` when set, else the embedded cluster's URL (which must have been started)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    cluster = EmbeddedCluster.default()
    if not cluster.running():
        raise ClusterError("数据库未启动 / the embedded database is not running: run `wangge db start`")
    return cluster.url()


IDLE_PING_S = 10.0  # a pooled connection unused this long is pinged before it is handed out
CONNECT_TIMEOUT_S = 5  # a server that does not answer at all is an outage, not a request left hanging

# SQLSTATEs saying the server is gone or will not take us now (a connection exception, a shutdown, a
# restart, too many connections), as opposed to refusing one statement.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
# Another transaction won: a serialization failure or a deadlock; the loser's work was rolled back.
_LOST_RACE_STATES = ("40001", "40P01")
_last_outage = 0.0  # when this process last found the database unreachable (time.monotonic())


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own error behind SQLAlchemy's wrapper (or ``exc`` itself)."""
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or went away mid-request (an outage that
    retrying later may cure), rather than refusing this request's statement."""
    if isinstance(exc, PoolTimeout | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = _driver_error(exc)
    if not isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    # No SQLSTATE: the client found the connection refused, closed or broken.
    return orig.sqlstate is None or orig.sqlstate.startswith(_UNREACHABLE_STATES)


def lost_race(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL aborting this transaction for a concurrent one (deadlock, serialization)."""
    sqlstate = getattr(_driver_error(exc), "sqlstate", None)
    return sqlstate in _LOST_RACE_STATES


def _note_outage() -> None:
    global _last_outage
    _last_outage = time.monotonic()


@lru_cache(maxsize=8)
def get_engine(url: str | None = None, *, generic_plans: bool = False) -> Engine:
    """One pooled engine per URL for the life of the process.

    A connection is pinged only when it has sat idle (a server restart or an idle timeout drops such
    connections) or was last used before this process found the database unreachable (so the service
    comes back by itself after an outage): pinging on every checkout, as ``pool_pre_ping`` does, is a
    round trip on every request. Statement parameters are kept out of error messages, which reach logs
    (a reporter's phone, a description).

    ``generic_plans`` gives a pool whose sessions run prepared statements under their generic plan. It
    serves the hottest path (intake): psycopg prepares a statement it sees often, but PostgreSQL kept
    planning the many-join locate afresh on every call (0.45 ms of planning for 0.13 ms of work) since
    its custom plans look cheaper. Other requests keep PostgreSQL's own choice.
    """
    options: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if generic_plans:
        options["options"] = "-c plan_cache_mode=force_generic_plan"
    engine = create_engine(url or database_url(), connect_args=options, hide_parameters=True)

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "handle_error")
    def _outage(ctx: Any) -> None:
        if unreachable(ctx.original_exception) or ctx.is_disconnect:
            _note_outage()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since", time.monotonic())
        if time.monotonic() - idle_since < IDLE_PING_S and idle_since > _last_outage:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:  # the pool discards this connection and opens a fresh one
            raise DisconnectionError(f"pooled connection lost while idle: {exc}") from exc

    return engine


_driver_sql: dict[int, tuple[TextClause, str]] = {}


def driver_rows(conn: Connection, stmt: TextClause, params: dict) -> list[dict]:
    """Run ``stmt`` on the driver's own cursor and return its rows as dicts.

    The statement is compiled by SQLAlchemy once (values stay bound parameters); only the result
    layer is skipped, which on the hottest paths (intake, one-point locate) costs more Python time
    than the query itself.
    """
    cached = _driver_sql.get(id(stmt))
    if cached is None or cached[0] is not stmt:
        cached = _driver_sql[id(stmt)] = (stmt, stmt.compile(dialect=conn.dialect).string)
    if not conn.in_transaction():
        conn.begin()  # as SQLAlchemy's own autobegin would: the caller's commit or rollback covers this
    driver: Any = conn.connection.driver_connection  # psycopg's own connection
    try:
        with driver.cursor(row_factory=dict_row) as cur:
            cur.execute(cached[1], params)
            return cur.fetchall() if cur.description else []
    except psycopg.Error as exc:
        if unreachable(exc):  # SQLAlchemy did not see this error: discard the connection as it would
            _note_outage()
            conn.invalidate(exc)
        raise


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose work commits together or not at all (for the CLI and services)."""
    session = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
