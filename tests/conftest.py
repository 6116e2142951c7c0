"""Fixtures: a real PostGIS (the embedded cluster, or DATABASE_URL's server), never a mock.

* ``template_url``: an empty, migrated database, the template every other one is copied from;
* ``district_url``: a copy holding the demo district (seed 7), shared by read-only tests;
* ``fresh_url``: a new empty copy for one test that writes (imports, CLI), dropped after;
* ``conn``/``session``: a connection to the district whose work is rolled back after the test.
"""

from __future__ import annotations

import os
import shlex
import uuid
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from boundaries.demo import make_district
from boundaries.load import load_layers
from core.catalogue import ensure_default_catalogue
from store.cluster import EmbeddedCluster, ensure_database
from store.engine import database_url, get_engine
from store.migrate import upgrade

DEMO_SEED = 7
# The workflow tests' world (a private district, a clock, tokens) lives in its own module.
pytest_plugins = ("tests.workflow",)


# ---- markers: db, browser, or plain -----------------------------------------------------------
# A test that asks (directly or through another fixture) for the database is marked ``db``; one that asks
# for a Chromium page, ``browser``. Tests that reach them another way carry the marker by hand. So
# ``pytest -m "not db and not browser"`` runs the pure tests without a server, and ``--fail-on-skip``
# (what ``make test`` and CI use) turns any skipped db or browser test into a failure.
DB_FIXTURE = "admin_url"
# Fixed database names carry this prefix; a second run on the same cluster sets another one.
PREFIX = os.environ.get("WANGGE_TEST_DB_PREFIX", "wangge_test")
BROWSER_FIXTURE = "browser"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fail-on-skip",
        action="store_true",
        help="fail the run if any db or browser test is skipped (CI: nothing may stand in for a feature)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if DB_FIXTURE in fixtures or BROWSER_FIXTURE in fixtures:
            item.add_marker(pytest.mark.db)
        if BROWSER_FIXTURE in fixtures or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.db)  # every page is served from the database


_skipped_needed: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and ("db" in report.keywords or "browser" in report.keywords):
        _skipped_needed.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.getoption("--fail-on-skip") and _skipped_needed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"--fail-on-skip: {len(_skipped_needed)} db/browser tests were skipped:", red=True
            )
            for nodeid in _skipped_needed:
                reporter.write_line(f"  {nodeid}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _admin_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return str(make_url(database_url()).set(database="postgres"))
    return EmbeddedCluster.default().start().rsplit("/", 1)[0] + "/postgres"


def _copy(admin: str, template: str, name: str) -> str:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    return str(make_url(admin).set(database=name))


def _drop(admin: str, name: str) -> None:
    get_engine.cache_clear()
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _admin_url()


@pytest.fixture(scope="session")
def template_url(admin_url: str) -> str:
    name = f"{PREFIX}_template"
    ensure_database(admin_url, name, fresh=True)
    url = str(make_url(admin_url).set(database=name))
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as c:
        ensure_default_catalogue(c)
    engine.dispose()
    get_engine.cache_clear()
    # A template must have no open connections when it is copied.
    create_engine(url).dispose()
    return url


@pytest.fixture(scope="session")
def demo_layers():
    return make_district(seed=DEMO_SEED, scale=1)


@pytest.fixture(scope="session")
def district_template(admin_url: str, template_url: str, demo_layers) -> str:
    """A migrated database holding the demo district, never connected to again: copies are cheap."""
    name = f"{PREFIX}_district_template"
    url = _copy(admin_url, f"{PREFIX}_template", name)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        load_layers(session, {k: v.copy() for k, v in demo_layers.items()})
    engine.dispose()
    yield name
    _drop(admin_url, name)


@pytest.fixture(scope="session")
def district_url(admin_url: str, district_template: str) -> str:
    url = _copy(admin_url, district_template, f"{PREFIX}_district")
    yield url
    _drop(admin_url, f"{PREFIX}_district")


HISTORY_END = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # midnight, 1 November, in Panjin


@pytest.fixture(scope="session")
def history_url(admin_url: str, district_template: str, demo_layers) -> str:
    """The demo district with a year of demo incidents up to HISTORY_END (read-only tests: maps)."""
    from boundaries.demo_incidents import load_history, make_history
    from core.catalogue import list_categories, list_departments

    url = _copy(admin_url, district_template, f"{PREFIX}_history")
    engine = create_engine(url)
    with engine.begin() as conn:
        incidents, events = make_history(
            demo_layers, list_categories(conn), end=HISTORY_END, n=4000, seed=DEMO_SEED
        )
        load_history(
            conn, incidents, events, {d["code"]: d["report_limit_min"] for d in list_departments(conn)}
        )
    engine.dispose()
    yield url
    _drop(admin_url, f"{PREFIX}_history")


TRACKS_END = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # midnight starting Monday 2 November, in Panjin


@pytest.fixture(scope="session")
def tracks_url(admin_url: str, district_template: str, demo_layers) -> str:
    """The demo district with the demo week of patrol logs, Monday 26 October to Sunday 1 November (Beijing)."""
    from boundaries.demo_tracks import load_tracks, make_tracks

    url = _copy(admin_url, district_template, f"{PREFIX}_tracks")
    engine = create_engine(url)
    with engine.begin() as conn:
        load_tracks(conn, make_tracks(demo_layers, end=TRACKS_END, days=7, seed=DEMO_SEED))
    engine.dispose()
    yield url
    _drop(admin_url, f"{PREFIX}_tracks")


@pytest.fixture
def workflow_url(admin_url: str, district_template: str):
    """A private copy of the demo district for one test that commits (the incident workflow)."""
    name = f"wangge_w_{uuid.uuid4().hex[:10]}"
    yield _copy(admin_url, district_template, name)
    _drop(admin_url, name)


@pytest.fixture
def fresh_url(admin_url: str, template_url: str):
    name = f"wangge_t_{uuid.uuid4().hex[:10]}"
    yield _copy(admin_url, f"{PREFIX}_template", name)
    _drop(admin_url, name)


@pytest.fixture(scope="session")
def district_engine(district_url: str):
    engine = create_engine(district_url)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(district_engine):
    """A connection inside a transaction that is rolled back: the test may write freely."""
    with district_engine.connect() as connection:
        tx = connection.begin()
        yield connection
        tx.rollback()


@pytest.fixture
def session(conn):
    with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
        yield s


@pytest.fixture
def app(district_engine):
    from api.http.app import create_app

    return create_app({"TESTING": True, "ENGINE": district_engine})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli():
    """Run ``wangge`` commands against a given database URL, as a user would."""
    from api.cli import main

    runner = CliRunner()

    def run(url: str | None, *args: str):
        """``run(url, "grids", "draw", …)``, or the whole command line in one string: ``run(url, "grids draw …")``."""
        env = {"DATABASE_URL": url} if url else {}
        get_engine.cache_clear()
        words = shlex.split(args[0]) if len(args) == 1 else list(args)
        return runner.invoke(main, words, env=env, catch_exceptions=False)

    return run
