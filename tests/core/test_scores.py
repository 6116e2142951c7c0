"""The three-rate score on a hand-computed example: response 10 %, completion 40 %, satisfaction 50 %."""

from __future__ import annotations

import json

import pytest

from core.scores import score


def test_score_weights_and_undefined_rates():
    assert score(1, 1, 1) == pytest.approx(1.0)
    assert score(1 / 3, 1 / 2, 1 / 2) == pytest.approx(0.1 / 3 + 0.2 + 0.25)
    assert score(1.0, None, 0.5) is None


WEEK = "from=2026-03-01&to=2026-03-08"


def _a_week_in_three_grids(world):
    """Grid X gets four reports (one a duplicate), Y and Z one each; returns the places X, Y and Z."""
    x, y, z = world.places[0], world.places[1], world.places[2]
    citizen = world.user("张三", "citizen", phone="13812345678")
    wx = world.user("X", "grid_worker", person=x.worker_id)
    # 08:00: four reports in grid X, one in Y, one in Z.
    i1, i2, i4 = (world.report(citizen, x, "A01").get_json()["id"] for _ in range(3))
    world.report(citizen, x, "A07").get_json()["id"]  # respond within 60 min, finish within 72 h
    i5 = world.report(citizen, y, "A01").get_json()["id"]
    i6 = world.report(citizen, z, "A07").get_json()["id"]
    world.clock.advance(minutes=5)
    world.step(world.street, i4, "merge", into=i1)  # a duplicate never counts
    world.clock.advance(minutes=5)  # 08:10
    for i in (i1, i5, i6):
        world.step(world.district, i, "accept")
        world.step(world.district, i, "start")
    world.step(wx, i1, "accept")  # already accepted: refused, changes nothing
    world.clock.advance(minutes=50)  # 09:00: i2 accepted 30 min late
    world.step(wx, i2, "accept")
    world.step(wx, i2, "start")
    world.clock.advance(hours=1)  # 10:00
    for i in (i1, i5):
        world.step(world.district, i, "resolve")
    world.step(citizen, i1, "rate", rating=5)
    world.step(citizen, i5, "rate", rating=4)
    world.clock.advance(hours=48)  # two days later, i2 is resolved a day late
    world.step(wx, i2, "resolve")
    world.step(citizen, i2, "rate", rating=3)
    return x, y, z


def _ranking(world, query: str) -> dict[str, dict]:
    return {r["id"]: r for r in world.get(f"/api/v1/scores?{query}", world.district).get_json()["ranking"]}


def test_a_week_in_three_grids(world):
    x, y, z = _a_week_in_three_grids(world)
    body = world.get(f"/api/v1/scores?unit=grid&{WEEK}", world.district).get_json()
    rows = {r["id"]: r for r in body["ranking"]}
    # Grid X: response 1 of 3 (i3's limit passed unanswered), completion 1 of 2 (i3 not yet due),
    # satisfaction 1 of 2 (the 3 is not satisfied); i4 is merged and left out.
    gx = rows[x.grid_id]
    assert (
        gx["responded"],
        gx["response_n"],
        gx["completed"],
        gx["completion_n"],
        gx["satisfied"],
        gx["rated"],
        gx["incidents"],
    ) == (1, 3, 1, 2, 1, 2, 3)
    assert gx["score"] == pytest.approx(0.1 / 3 + 0.4 / 2 + 0.5 / 2)
    assert rows[y.grid_id]["score"] == pytest.approx(1.0)  # a 4 counts as satisfied
    assert rows[z.grid_id]["score"] is None and rows[z.grid_id]["completion_rate"] is None
    assert [r["id"] for r in body["ranking"]] == [y.grid_id, x.grid_id, z.grid_id]
    assert [r["rank"] for r in body["ranking"]] == [1, 2, 3]
    workers = _ranking(world, f"unit=worker&{WEEK}")
    assert workers[x.worker_id]["score"] == pytest.approx(gx["score"])
    _check_scopes_and_refusals(world)


def _check_scopes_and_refusals(world) -> None:
    """A street admin sees their street; a period without incidents ranks nobody; bad input is refused."""
    assert len(world.get("/api/v1/scores?unit=street", world.street).get_json()["ranking"]) == 1
    assert (
        world.get("/api/v1/scores?from=2025-01-01&to=2025-02-01", world.district).get_json()["ranking"] == []
    )
    assert world.get("/api/v1/scores?unit=planet", world.district).status_code == 400
    assert world.get("/api/v1/scores?from=2026-03-08&to=2026-03-01", world.district).status_code == 400
    assert world.get("/api/v1/scores?from=yesterday", world.district).status_code == 400


def test_the_cli_prints_the_same_ranking(world, cli):
    """Measured now, long after every deadline: i3 now counts as late too."""
    x, _, _ = _a_week_in_three_grids(world)
    url = world.engine.url.render_as_string(hide_password=False)
    result = cli(url, "scores", "--unit", "grid", "--from", "2026-03-01", "--to", "2026-03-08", "--json")
    assert result.exit_code == 0, result.output
    cli_rows = {r["id"]: r for r in json.loads(result.output)}
    assert (cli_rows[x.grid_id]["completed"], cli_rows[x.grid_id]["completion_n"]) == (1, 3)
    table = cli(url, "scores", "--from", "2026-03-01", "--to", "2026-03-08")
    assert x.grid_id in table.output and "score" in table.output.splitlines()[1]
