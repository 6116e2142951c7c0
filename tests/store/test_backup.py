"""Backups: an office backs up its district (a year of incidents, a day of patrol logs, tokens), restores
the file into a new empty database, and finds every table as it was, row for row. A restore over a
database that holds tables is refused unless forced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from boundaries.demo_incidents import load_history, make_history
from boundaries.demo_tracks import load_tracks, make_tracks
from core.catalogue import list_categories, list_departments
from core.tokens import add_user
from store.backup import own_tables
from store.cluster import ensure_database

END = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every table of the database's own → (rows, md5 of its rows as text in order)."""
    engine = create_engine(url)
    seen = {}
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        for table in own_tables(url):
            schema, name = table.split(".")
            rows = "string_agg(t::text, E'\\n' ORDER BY t::text)"
            sql = f"SELECT count(*), md5(coalesce({rows}, '')) FROM {quote(schema)}.{quote(name)} t"  # noqa: S608
            seen[table] = tuple(conn.execute(text(sql)).one())
    engine.dispose()
    return seen


def differences(a: dict[str, tuple[int, str]], b: dict[str, tuple[int, str]]) -> list[str]:
    """Tables missing on either side or differing in rows."""
    return sorted(t for t in a.keys() | b.keys() if a.get(t) != b.get(t))


@pytest.fixture
def office_url(workflow_url: str, demo_layers) -> str:
    """The demo district with 300 incidents and their stories, a day of patrol logs and two tokens."""
    engine = create_engine(workflow_url)
    with engine.begin() as conn:
        incidents, events = make_history(demo_layers, list_categories(conn), end=END, n=300, seed=7)
        departments = {d["code"]: d["report_limit_min"] for d in list_departments(conn)}
        load_history(conn, incidents, events, departments)
        load_tracks(conn, make_tracks(demo_layers, end=END, days=1, seed=7))
        add_user(conn, "区指挥中心", "district_admin")
        add_user(conn, "张三", "citizen", phone="13800001111")
    engine.dispose()
    return workflow_url


@pytest.fixture
def empty_url(admin_url: str):
    """A new database as `wangge db start` makes one: PostGIS and pgRouting, no tables of its own."""
    name = f"wangge_r_{uuid.uuid4().hex[:10]}"
    ensure_database(admin_url, name)
    yield str(make_url(admin_url).set(database=name))
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def test_a_backup_restored_into_an_empty_database_holds_every_table_row_for_row(
    office_url, empty_url, cli, tmp_path
):
    file = tmp_path / "wangge.dump"
    before = fingerprint(office_url)
    filled = [t for t, (rows, _) in before.items() if rows]
    assert {"public.incidents", "public.incident_events", "public.summons", "public.patrol_tracks"} <= set(
        filled
    )

    backed = cli(office_url, "db", "backup", str(file))
    assert backed.exit_code == 0, backed.output
    assert cli(empty_url, "db", "restore", str(file)).exit_code == 0

    assert differences(before, fingerprint(empty_url)) == []
    assert fingerprint(office_url) == before  # a backup changes nothing


def test_the_comparison_would_notice_a_table_left_out(office_url, empty_url, cli, tmp_path):
    # The control for the test above: a restore missing one table, or one row, does not compare equal.
    file = tmp_path / "wangge.dump"
    cli(office_url, "db", "backup", str(file))
    cli(empty_url, "db", "restore", str(file))
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE patrol_tracks CASCADE"))  # the kept coverage refers to it
        conn.execute(
            text("UPDATE incidents SET description = '改过' WHERE id = (SELECT min(id) FROM incidents)")
        )
    engine.dispose()
    assert differences(fingerprint(office_url), fingerprint(empty_url)) == [
        "public.incidents",
        "public.patrol_tracks",
    ]


def test_a_restore_over_a_database_with_tables_is_refused_unless_forced(office_url, empty_url, cli, tmp_path):
    file = tmp_path / "wangge.dump"
    cli(office_url, "db", "backup", str(file))
    kept = fingerprint(office_url)
    engine = create_engine(office_url)
    with engine.begin() as conn:  # the office's work since the backup
        add_user(conn, "李四", "citizen", phone="13800002222")
    changed = fingerprint(office_url)

    refused = cli(office_url, "db", "restore", str(file))
    assert refused.exit_code == 1
    assert "--force" in refused.output and "nothing was restored" in refused.output
    assert fingerprint(office_url) == changed

    forced = cli(office_url, "db", "restore", str(file), "--force")
    assert forced.exit_code == 0, forced.output
    assert differences(kept, fingerprint(office_url)) == []
    engine.dispose()
