"""Coverage benchmark (issue 15): a street-week's patrol-coverage report and the coverage page, from the
coverage each log kept at upload, beside the older path that matches every log of the period at once
(``tests/core/coverage_oracle.py``, which the tests hold equal to the new report figure for figure).

The demo street (64 grids, 42 segments) with its generated week of patrol logs (1,025 at seed 7) in a fresh
database. Figures are the median of BENCH_COVERAGE_ROUNDS (3) warm runs in one process. Targets: the
report under 1 s after upload, the page under 2 s.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

import core.coverage
from api.pages import render_map
from boundaries.demo import make_district
from boundaries.demo_tracks import make_tracks
from boundaries.load import load_layers
from core.coverage import street_coverage
from core.tracks import store_track
from geo.tracks import clean
from maps.basemaps import base_map
from store.cluster import ensure_database
from store.engine import database_url
from store.migrate import upgrade
from store.track_coverage import cover_tracks
from tests.conftest import TRACKS_END
from tests.core import coverage_oracle

BENCH_DB = "wangge_bench_coverage"
ROUNDS = int(os.environ.get("BENCH_COVERAGE_ROUNDS", 3))
DAYS = int(os.environ.get("BENCH_COVERAGE_DAYS", 7))
STREET = "211103001"


def _database() -> str:
    base = make_url(database_url())
    ensure_database(str(base.set(database="postgres")), BENCH_DB, fresh=True)
    url = base.set(database=BENCH_DB).render_as_string(hide_password=False)
    upgrade(url)
    return url


def _median(run: Callable[[], object]) -> float:
    run()  # warm: the street's network is built once per process
    times = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _page(conn: Connection) -> None:
    start = TRACKS_END - timedelta(days=DAYS)
    params = {"from": start.isoformat(), "to": TRACKS_END.isoformat(), "street": STREET}
    render_map(conn, "coverage", base_map("none"), params).get_root().render()


def _load(engine, layers: dict) -> tuple[int, float, float]:
    """Store the week's logs unmeasured, then measure them in one pass; the count, that pass's seconds, and
    the median seconds of one upload measured as it comes."""
    logs = make_tracks(layers, end=TRACKS_END, days=DAYS, seed=7)
    with engine.begin() as conn:
        ids = [
            store_track(conn, p, clean(pts), "demo", "wgs84", uploaded_by="bench", measure=False)["id"]
            for p, pts in logs
        ]
        t = time.perf_counter()
        cover_tracks(conn, ids)
        bulk = time.perf_counter() - t
    one = []
    with engine.connect() as conn:
        for person, points in logs[:: max(1, len(logs) // 20)]:
            track = clean(points)
            t = time.perf_counter()
            store_track(conn, person, track, "demo", "wgs84", uploaded_by="bench")
            one.append(time.perf_counter() - t)
        conn.rollback()  # the uploads timed are not kept: the week stays as generated
    return len(ids), bulk, statistics.median(one)


def run() -> list[str]:
    url = _database()
    engine = create_engine(url)
    layers = make_district(seed=7, scale=1)
    with Session(engine) as session, session.begin():
        load_layers(session, layers)
    n, bulk, upload = _load(engine, layers)
    start = TRACKS_END - timedelta(days=DAYS)
    with engine.connect() as conn:
        report = street_coverage(conn, STREET, start, TRACKS_END)
        assert coverage_oracle.walked_part(report) == coverage_oracle.street_coverage(
            conn, STREET, start, TRACKS_END
        )
        new = _median(lambda: street_coverage(conn, STREET, start, TRACKS_END))
        old = _median(lambda: coverage_oracle.street_coverage(conn, STREET, start, TRACKS_END))
        page_new = _median(lambda: _page(conn))
        # The page imports street_coverage when it is drawn: the older path stands in for it there.
        kept = core.coverage.street_coverage
        core.coverage.street_coverage = coverage_oracle.street_coverage  # type: ignore[assignment]
        try:
            page_old = _median(lambda: _page(conn))
        finally:
            core.coverage.street_coverage = kept
        rows = conn.execute(text("SELECT count(*) FROM track_coverage")).scalar_one()
    engine.dispose()
    return [
        "## Patrol coverage from kept rows",
        "",
        f"The demo street, {n:,} patrol logs over {DAYS} days (seed 7), a fresh database; median of {ROUNDS} warm "
        "runs. *Matched at once* is the older path (every log of the period matched on every report; kept as "
        "the tests' oracle); *kept rows* unions what each log stored at upload. Both give the same report.",
        "",
        "| | matched at once | kept rows | ratio | target |",
        "| --- | --- | --- | --- | --- |",
        f"| street-week report (`street_coverage`) | {old:.2f} s | {new:.2f} s | {old / new:.0f} × | under 1 s |",
        f"| coverage page (`/maps/coverage`, rendered) | {page_old:.2f} s | {page_new:.2f} s | "
        f"{page_old / page_new:.1f} × | under 2 s |",
        "",
        f"Measuring at upload: one log {upload * 1000:.0f} ms (median of 20, the street's network already "
        f"built); the whole week in one pass (the migration's backfill, the demo load) {bulk:.1f} s, "
        f"{rows:,} kept rows.",
        "",
    ]
