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

from psycopg.rows import dict_row
from sqlalchemy import Connection, TextClause, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
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


@lru_cache(maxsize=8)
def get_engine(url: str | None = None, *, generic_plans: bool = False) -> Engine:
    """One pooled engine per URL for the life of the process.

    A connection is pinged only when it has sat idle (a server restart or an idle timeout drops such
    connections): pinging on every checkout, as ``pool_pre_ping`` does, is a round trip on every request.

    ``generic_plans`` gives a pool whose sessions run prepared statements under their generic plan. It
    serves the hottest path (intake): psycopg prepares a statement it sees often, but PostgreSQL kept
    planning the many-join locate afresh on every call (0.45 ms of planning for 0.13 ms of work) since
    its custom plans look cheaper. Other requests keep PostgreSQL's own choice.
    """
    options = {"options": "-c plan_cache_mode=force_generic_plan"} if generic_plans else {}
    engine = create_engine(url or database_url(), future=True, connect_args=options)

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) < IDLE_PING_S:
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
    with driver.cursor(row_factory=dict_row) as cur:
        cur.execute(cached[1], params)
        return cur.fetchall() if cur.description else []


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
