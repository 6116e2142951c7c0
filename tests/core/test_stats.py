"""Service-level figures (issue 17) against hand-computed values on the controlled clock: counts, open and
overdue now, reopened and 督办, and percentile_cont's median and 90th percentile of the hours to accept and to
resolve, per category, grid, assignee and street; the CSV, the CLI, the scope and the refusals."""

from __future__ import annotations

import csv
import io
import json

import pytest

WEEK = "from=2026-03-01&to=2026-03-08"


def _a_morning(world):
    """08:00: three cases in grid X (A01, A01, A07), one in Y (A01), a duplicate merged away.

    Accepted after 0.2 h (X1), 0.5 h (X2), 1 h (Y1); Y1 resolved after 4 h, X1 after 3 h and X2 after 6 h;
    X1 is rated 2 and reopened under 督办 (due 24 h from 11:00); the A07 is never touched (due in 72 h).
    """
    x, y = world.places[0], world.places[1]
    citizen = world.user("张三", "citizen", phone="13812345678")
    wx = world.user("X", "grid_worker", person=x.worker_id)
    x1, x2, x3, dup = (world.report(citizen, x, c).get_json()["id"] for c in ("A01", "A01", "A07", "A01"))
    y1 = world.report(citizen, y, "A01").get_json()["id"]
    world.clock.advance(minutes=6)
    assert world.step(world.street, dup, "merge", into=x1).status_code == 200
    world.clock.advance(minutes=6)  # 08:12
    _steps(world, wx, x1, "accept", "start")
    world.clock.advance(minutes=18)  # 08:30
    _steps(world, wx, x2, "accept", "start")
    world.clock.advance(minutes=30)  # 09:00
    _steps(world, world.district, y1, "accept", "start")
    world.clock.advance(hours=2)  # 11:00
    _steps(world, wx, x1, "resolve")
    assert world.step(citizen, x1, "rate", rating=2).get_json()["status"] == "reopened"
    world.clock.advance(hours=1)  # 12:00
    _steps(world, world.district, y1, "resolve")
    world.clock.advance(hours=2)  # 14:00
    _steps(world, wx, x2, "resolve")
    world.clock.advance(hours=22)  # 12:00 the next day: X1's new deadline (11:00) has passed, A07's not
    return x, y, x3


def _steps(world, token, incident_id, *actions):
    for action in actions:
        answer = world.step(token, incident_id, action)
        assert answer.status_code == 200, answer.get_json()


def _groups(world, by: str, token=None) -> dict[str, dict]:
    answer = world.get(f"/api/v1/stats?by={by}&{WEEK}", token or world.district)
    assert answer.status_code == 200, answer.get_json()
    return {g["id"]: g for g in answer.get_json()["groups"]}


def _counts(row: dict) -> tuple:
    return tuple(row[k] for k in ("reported", "accepted", "resolved", "open", "overdue", "reopened", "duban"))


def _hours(row: dict) -> tuple:
    return tuple(row[k] for k in ("accept_median_h", "accept_p90_h", "resolve_median_h", "resolve_p90_h"))


def test_figures_per_category_grid_and_assignee(world):
    x, y, _ = _a_morning(world)
    categories = _groups(world, "category")
    assert set(categories) == {"A01", "A07"}  # the merged duplicate counts nowhere
    a01 = categories["A01"]
    assert a01["name"] == "乱扔垃圾、暴露垃圾"
    # X1 reopened and open (overdue since 11:00), X2 and Y1 resolved.
    assert _counts(a01) == (3, 3, 2, 1, 1, 1, 1)
    # Accept: 0.2, 0.5, 1 h: median 0.5, p90 0.5 + 0.8 × 0.5 = 0.9. Resolve (X2 6 h, Y1 4 h): 5 and 5.8.
    assert _hours(a01) == pytest.approx((0.5, 0.9, 5.0, 5.8))
    assert _counts(categories["A07"]) == (1, 0, 0, 1, 0, 0, 0)
    assert _hours(categories["A07"]) == (None, None, None, None)

    grids = _groups(world, "grid")
    # X: X1 (0.2 h), X2 (0.5 h): median 0.35, p90 0.2 + 0.9 × 0.3 = 0.47; only X2 resolved (6 h).
    assert _counts(grids[x.grid_id]) == (3, 2, 1, 2, 1, 1, 1)
    assert _hours(grids[x.grid_id]) == pytest.approx((0.35, 0.47, 6.0, 6.0))
    assert _counts(grids[y.grid_id]) == (1, 1, 1, 0, 0, 0, 0)
    assert _hours(grids[y.grid_id]) == pytest.approx((1.0, 1.0, 4.0, 4.0))

    holders = _groups(world, "assignee")
    worker = holders[f"person:{x.worker_id}"]
    (name,) = world.sql("SELECT name FROM people WHERE id = :p", p=x.worker_id)[0]
    assert worker["name"] == name and _counts(worker) == _counts(grids[x.grid_id])
    assert _hours(holders[f"person:{y.worker_id}"]) == _hours(grids[y.grid_id])


def test_scope_refusals_table_and_cli(world, cli):
    x, y, _ = _a_morning(world)
    (street_x, street_y) = (
        world.sql("SELECT street_id FROM incidents WHERE grid_id = :g LIMIT 1", g=g)[0][0]
        for g in (x.grid_id, y.grid_id)
    )
    mine = {x.grid_id: 3, y.grid_id: 1}
    expected = sum(mine[g] for g, s in zip(mine, (street_x, street_y), strict=True) if s == world.street_id)
    streets = _groups(world, "street", world.street)
    assert list(streets) == [world.street_id] and streets[world.street_id]["reported"] == expected

    assert world.get("/api/v1/stats", world.user("X", "grid_worker", person=x.worker_id)).status_code == 403
    assert world.get("/api/v1/stats").status_code == 401
    assert world.get("/api/v1/stats?by=planet", world.district).status_code == 400
    assert world.get("/api/v1/stats?from=2026-03-08&to=2026-03-01", world.district).status_code == 400
    assert world.get("/api/v1/stats.pdf", world.district).status_code == 404

    answer = world.get(f"/api/v1/stats.csv?by=grid&{WEEK}", world.district)
    assert answer.status_code == 200 and answer.data.startswith("\ufeff".encode())
    rows = {r["编号 id"]: r for r in csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig")))}
    assert rows[x.grid_id]["超时未办 overdue now"] == "1"
    assert float(rows[x.grid_id]["受理时长90分位 hours to accept, 90th pct"]) == pytest.approx(0.47)
    assert world.get(f"/api/v1/stats.xlsx?{WEEK}", world.district).data[:2] == b"PK"

    # The CLI measures now, months later: the A07 is overdue too; every other figure is the same.
    url = world.engine.url.render_as_string(hide_password=False)
    result = cli(url, "stats", "--by", "grid", "--from", "2026-03-01", "--to", "2026-03-08", "--json")
    assert result.exit_code == 0, result.output
    by_cli = {r["id"]: r for r in json.loads(result.output)}
    assert _counts(by_cli[x.grid_id]) == (3, 2, 1, 2, 2, 1, 1)
    assert _hours(by_cli[x.grid_id]) == pytest.approx((0.35, 0.47, 6.0, 6.0))
    printed = cli(url, "stats", "--from", "2026-03-01", "--to", "2026-03-08")
    assert printed.exit_code == 0 and "A01" in printed.output and "accept_p90_h" in printed.output
