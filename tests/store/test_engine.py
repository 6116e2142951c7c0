"""The pooled engine: idle connections are checked before use, and the driver-level fast path keeps
SQLAlchemy's transaction rules."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from store import engine as pools
from store.engine import driver_rows, get_engine


def _kill(admin_url: str, pid: int) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    admin.dispose()


def _dropped_while_idle(admin_url: str, url: str, monkeypatch, idle_ping_s: float):
    """Hand out a connection, kill its server process while it sits in the pool, then use the pool again."""
    get_engine.cache_clear()
    monkeypatch.setattr(pools, "IDLE_PING_S", idle_ping_s)
    engine = get_engine(url)
    with engine.connect() as c:
        first = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
    _kill(admin_url, first)
    try:
        with engine.connect() as c:
            return first, c.execute(text("SELECT pg_backend_pid()")).scalar_one()
    finally:
        engine.dispose()
        get_engine.cache_clear()


def test_a_connection_dropped_while_idle_is_replaced_before_use(admin_url, fresh_url, monkeypatch):
    first, second = _dropped_while_idle(admin_url, fresh_url, monkeypatch, idle_ping_s=0.0)
    assert second != first


def test_without_the_idle_ping_the_dropped_connection_would_fail_the_request(
    admin_url, fresh_url, monkeypatch
):
    # The control for the test above: the ping is what saves the request.
    with pytest.raises(OperationalError):
        _dropped_while_idle(admin_url, fresh_url, monkeypatch, idle_ping_s=3600.0)


def test_driver_rows_bind_values_and_commit_with_the_callers_transaction(fresh_url):
    engine = create_engine(fresh_url)
    stmt = text(
        "INSERT INTO departments (code, name_zh, name_en, report_limit_min) "
        "VALUES (:code, :zh, 'Test', 30) RETURNING code, name_zh"
    )
    hostile = "x'); DROP TABLE departments; --"
    with engine.connect() as c:
        rows = driver_rows(c, stmt, {"code": "T1", "zh": hostile})
        assert rows == [{"code": "T1", "name_zh": hostile}]
        c.commit()
    with engine.connect() as c:
        driver_rows(c, stmt, {"code": "T2", "zh": "回滚"})
        c.rollback()
    with engine.connect() as c:
        kept = (
            c.execute(text("SELECT code FROM departments WHERE code LIKE 'T_' ORDER BY code")).scalars().all()
        )
    engine.dispose()
    assert kept == ["T1"]


def test_the_hot_pool_runs_generic_plans_and_the_default_pool_keeps_postgresql_s_choice(fresh_url):
    get_engine.cache_clear()
    hot, default = get_engine(fresh_url, generic_plans=True), get_engine(fresh_url)
    try:
        assert hot is not default and get_engine(fresh_url, generic_plans=True) is hot
        with hot.connect() as c:
            assert c.exec_driver_sql("SHOW plan_cache_mode").scalar_one() == "force_generic_plan"
        with default.connect() as c:
            assert c.exec_driver_sql("SHOW plan_cache_mode").scalar_one() == "auto"
    finally:
        hot.dispose()
        default.dispose()
        get_engine.cache_clear()
