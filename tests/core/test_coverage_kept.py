"""Coverage kept per log (issue 15): the report from kept rows equals, figure for figure, the older path that
matches every log of the period at once (``tests/core/coverage_oracle.py``), on the demo's week of 1,025
logs, on periods that cut logs in two, at other distances, log by log as uploads come, and after a backfill."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from boundaries.demo_tracks import make_tracks
from core.coverage import street_coverage
from core.tracks import store_track
from geo.tracks import clean
from store.track_coverage import backfill, cover_tracks
from tests.conftest import DEMO_SEED, TRACKS_END
from tests.core import coverage_oracle

STREET = "211103001"
COUNTS = (
    "SELECT (SELECT count(*) FROM track_coverage_runs), (SELECT count(*) FROM track_coverage), "
    "(SELECT count(*) FROM track_passed), (SELECT count(*) FROM track_joint)"
)


@pytest.fixture(scope="module")
def engine(tracks_url):
    e = create_engine(tracks_url)
    yield e
    e.dispose()


def _same(conn, start, end, **kw) -> dict:
    kept = street_coverage(conn, STREET, start, end, **kw)
    assert coverage_oracle.walked_part(kept) == coverage_oracle.street_coverage(
        conn, STREET, start, end, **kw
    )
    return kept


@pytest.mark.parametrize(
    "days_back, days, kw",
    [
        (7, 7, {}),  # the street-week: every log kept whole
        (3, 1.4, {}),  # a period from midnight to 09:36: morning walks cut in two, matched now
        (5, 2.3, {"within_m": 25.0}),  # other distances: nothing kept applies, all matched now
        (7, 7, {"passed_m": 10.0}),
    ],
)
def test_the_demo_week_from_kept_rows_equals_matching_every_log(engine, days_back, days, kw):
    start = TRACKS_END - timedelta(days=days_back)
    with engine.connect() as c:
        report = _same(c, start, start + timedelta(days=days), **kw)
    assert report["tracks"] > 100 and report["workers"]


def test_the_demo_week_is_kept_once(engine):
    with engine.connect() as c:
        runs, lines, passed, joint = c.execute(text(COUNTS)).one()
        assert runs == c.execute(text("SELECT count(*) FROM patrol_tracks")).scalar_one() == 1025
        assert lines > runs and passed > runs and joint > 0
        # Measuring the same logs again writes nothing: a log is counted once however often it is measured.
        cover_tracks(c, c.execute(text("SELECT id FROM patrol_tracks")).scalars().all())
        assert c.execute(text(COUNTS)).one() == (runs, lines, passed, joint)
        c.rollback()
    for sql in ("DELETE FROM track_coverage", "UPDATE track_joint SET ended_at = ended_at"):
        with pytest.raises(DBAPIError, match="written once"), engine.begin() as c:
            c.execute(text(sql))


def _day_of_logs(demo_layers) -> list:
    """The demo's Wednesday: workers, officials walking with them, chiefs; in upload order, mixed."""
    logs = make_tracks(demo_layers, end=TRACKS_END, days=7, seed=DEMO_SEED)
    day = TRACKS_END - timedelta(days=4)
    mine = [(p, pts) for p, pts in logs if day.timestamp() <= pts.t.iloc[0] < day.timestamp() + 86400]
    return mine[::-1]  # officials' logs arrive before the workers' they walked with


def test_logs_uploaded_one_by_one_and_a_backfill_equal_the_oracle(workflow_url, demo_layers, monkeypatch):
    """Each upload measures its own log and checks it against the logs before it; a backfill measures what
    was stored unmeasured, a few logs at a time (joint walks found across its chunks). Both give the oracle's
    report, for the day and for a period cutting it."""
    logs = _day_of_logs(demo_layers)
    day = TRACKS_END - timedelta(days=4)
    engine = create_engine(workflow_url)
    with engine.begin() as c:
        half = len(logs) // 2
        for person, points in logs[:half]:
            store_track(c, person, clean(points), "demo", "wgs84", uploaded_by="t")
        for person, points in logs[half:]:
            store_track(c, person, clean(points), "demo", "wgs84", uploaded_by="t", measure=False)
        monkeypatch.setattr("store.track_coverage.CHUNK", 9)
        assert backfill(c) == len(logs)
        runs = c.execute(text("SELECT count(*) FROM track_coverage_runs")).scalar_one()
        assert runs == len(logs) > 50
        report = _same(c, day, day + timedelta(days=1))
        _same(c, day + timedelta(hours=1, minutes=10), day + timedelta(hours=9))
    engine.dispose()
    assert sum(w["weeks"][0]["joint_days"] for w in report["workers"]) > 0


def test_a_worker_and_an_official_uploading_at_once_still_meet(workflow_url, demo_layers):
    """Two uploads in flight together: the second waits for the first's joint check to commit, so the
    pair is checked once, by whichever comes second, and the rule counts their walk."""
    logs = _day_of_logs(demo_layers)
    engine = create_engine(workflow_url)
    with engine.connect() as c:
        roles = dict(c.execute(text("SELECT id, role FROM people")).all())
    officials = [(p, pts) for p, pts in logs if roles[p] == "official"]
    worker, official = next(
        (w, o)
        for o in officials
        for w in logs
        if roles[w[0]] == "grid_worker" and abs(w[1].t.iloc[0] - o[1].t.iloc[0]) < 1
    )
    day = TRACKS_END - timedelta(days=4)
    first = engine.connect()
    store_track(first, worker[0], clean(worker[1]), "demo", "wgs84", uploaded_by="t")  # holds the lock

    def second() -> None:
        with engine.begin() as c:
            store_track(c, official[0], clean(official[1]), "demo", "wgs84", uploaded_by="t")

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive()  # waiting for the first upload's lock
    first.commit()
    first.close()
    thread.join(timeout=30)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM track_joint")).scalar_one() >= 1
        report = _same(c, day, day + timedelta(days=1))
    engine.dispose()
    [mine] = [w for w in report["workers"] if w["id"] == worker[0]]
    assert mine["weeks"][0]["joint_days"] == 1
