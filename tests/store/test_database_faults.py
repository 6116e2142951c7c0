"""What a database failure is, read from real PostgreSQL failures: a server that is not there or a session
killed under us is an outage (503), a deadlock is a lost race (409), a bad statement is neither (500)."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from store.engine import lost_race, unreachable


def _failure(run) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        run()
    return caught.value


def test_a_server_that_is_not_there_is_an_outage():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = create_engine(f"postgresql+psycopg://wangge@127.0.0.1:{port}/wangge")
    refused = _failure(engine.connect)
    assert unreachable(refused) and not lost_race(refused)


def test_a_session_killed_under_us_is_an_outage(admin_url, fresh_url):
    engine = create_engine(fresh_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as a:
            a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        killed = _failure(lambda: conn.execute(text("SELECT 1")))
    engine.dispose()
    admin.dispose()
    assert unreachable(killed) and not lost_race(killed)


def test_a_deadlock_is_a_lost_race_and_a_bad_statement_is_neither(fresh_url):
    engine = create_engine(fresh_url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
        c.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    both_hold_one = threading.Barrier(2)
    failures: list[DBAPIError] = []

    def cross(first: int, second: int) -> None:
        with engine.connect() as conn:
            conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": first})
            both_hold_one.wait()
            try:
                conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": second})
                conn.commit()
            except DBAPIError as exc:
                failures.append(exc)

    threads = [threading.Thread(target=cross, args=args) for args in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    (deadlock,) = failures  # PostgreSQL aborted exactly one of the two
    assert lost_race(deadlock) and not unreachable(deadlock)

    with engine.connect() as conn:
        bad = _failure(lambda: conn.execute(text("SELECT 1 / 0")))
    engine.dispose()
    assert not unreachable(bad) and not lost_race(bad)
