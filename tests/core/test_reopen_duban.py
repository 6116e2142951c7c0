"""Reopening and 督办 (issue 17): the reporter may reopen a resolved case within the rating window; a rating
of 1 or 2 reopens it under supervision with a new deadline; the list filters by 督办 and by overdue; a
reopened case never counts as completed on time."""

from __future__ import annotations

import pytest

PHONE = "13812345678"
PERIOD = "from=2026-03-01&to=2026-03-10"


@pytest.fixture
def citizen(world):
    return world.user("张三", "citizen", phone=PHONE)


def _resolved(world, citizen, place, worker):
    inc = world.report(citizen, place, "A01").get_json()
    world.clock.advance(minutes=20)
    for action in ("accept", "start"):
        assert world.step(worker, inc["id"], action).status_code == 200
    world.clock.advance(hours=2)
    assert world.step(worker, inc["id"], "resolve").status_code == 200
    return inc


def _kinds(world, incident_id: int) -> list[tuple[str, str]]:
    rows = world.sql("SELECT kind, recipient FROM outbox WHERE incident_id = :i ORDER BY id", i=incident_id)
    return [(r.kind, r.recipient) for r in rows]


def test_a_bad_rating_reopens_the_case_under_duban_and_it_counts_as_late(world, citizen):
    place, other = world.places[0], world.places[5]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    inc = _resolved(world, citizen, place, worker)  # reported 08:00, resolved 10:20
    world.clock.advance(minutes=40)  # 11:00
    rated = world.step(citizen, inc["id"], "rate", rating=2).get_json()
    assert (rated["status"], rated["rating"], rated["duban"], rated["reopens"]) == ("reopened", 2, True, 1)
    assert rated["deadlines"]["due_at"] == "2026-03-03T11:00:00+08:00"  # A01's 24 hours, from the reopening
    assert rated["times"]["resolved_at"] is None
    assert [k for k, _ in _kinds(world, inc["id"])] == ["assigned", "resolved", "reopened", "duban"]
    assert _kinds(world, inc["id"])[-1] == ("duban", f"street:{world.street_id}")

    listed = world.get("/api/v1/incidents?flag=duban", world.street).get_json()
    assert [i["id"] for i in listed["incidents"]] == [inc["id"]]
    assert world.get("/api/v1/incidents?flag=other", world.street).status_code == 400

    for action in ("accept", "start"):
        assert world.step(worker, inc["id"], action).status_code == 200
    world.clock.advance(hours=2)  # 13:00: still inside the first deadline, but it was reopened
    assert world.step(worker, inc["id"], "resolve").status_code == 200
    again = world.step(citizen, inc["id"], "rate", rating=5).get_json()
    assert (again["status"], again["rating"], again["duban"]) == ("resolved", 5, True)
    assert world.step(citizen, inc["id"], "rate", rating=4).status_code == 409  # once per resolution

    fine = _resolved(world, citizen, other, world.user("网格员2", "grid_worker", person=other.worker_id))
    assert world.step(citizen, fine["id"], "rate", rating=5).get_json()["status"] == "resolved"
    ranking = world.get(f"/api/v1/scores?unit=grid&{PERIOD}", world.district).get_json()["ranking"]
    by_grid = {r["id"]: r for r in ranking}
    reopened = by_grid[place.grid_id]
    assert (reopened["completed"], reopened["completion_n"], reopened["completion_rate"]) == (0, 1, 0.0)
    assert (reopened["reopened"], reopened["duban"], reopened["satisfaction_rate"]) == (1, 1, 1.0)
    assert reopened["score"] == pytest.approx(0.1 * 1 + 0.4 * 0 + 0.5 * 1)
    assert by_grid[other.grid_id]["score"] == pytest.approx(1.0)
    events = world.get(f"/api/v1/incidents/{inc['id']}/events", world.district).get_json()["events"]
    assert [(e["action"], e["to_status"]) for e in events][4:6] == [
        ("rate", "reopened"),
        ("accept", "accepted"),
    ]


def test_the_reporter_reopens_within_the_rating_window_and_no_one_else_can(world, citizen):
    place = world.places[1]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    inc = _resolved(world, citizen, place, worker)
    assert world.step(worker, inc["id"], "reopen").status_code == 403
    assert world.step(world.street, inc["id"], "reopen").status_code == 403
    stranger = world.user("李四", "citizen", phone="13900000000")
    assert world.step(stranger, inc["id"], "reopen").status_code == 404
    world.clock.advance(days=1)
    reopened = world.step(citizen, inc["id"], "reopen", reply="垃圾又堆起来了").get_json()
    assert (reopened["status"], reopened["duban"], reopened["reopens"]) == ("reopened", False, 1)
    assert _kinds(world, inc["id"])[-1][0] == "reopened"
    assert world.step(citizen, inc["id"], "reopen").status_code == 409  # not resolved now

    for action in ("accept", "start", "resolve"):
        assert world.step(worker, inc["id"], action).status_code == 200
    world.clock.advance(days=7, minutes=1)
    late = world.step(citizen, inc["id"], "reopen")
    assert late.status_code == 409 and "rating window" in late.get_json()["detail"]


def test_a_call_back_rating_of_one_does_not_reopen(world, citizen):
    place = world.places[2]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    inc = _resolved(world, citizen, place, worker)
    callback = world.user("回访员", "callback")
    rated = world.step(callback, inc["id"], "rate", rating=1).get_json()
    assert (rated["status"], rated["duban"]) == ("resolved", False)


def test_overdue_lists_open_cases_past_their_deadline(world, citizen):
    late = world.report(citizen, world.places[3], "A01").get_json()
    worker = world.user("网格员", "grid_worker", person=world.places[4].worker_id)
    done = _resolved(world, citizen, world.places[4], worker)
    assert world.get("/api/v1/incidents?overdue=true", world.district).get_json()["total"] == 0
    world.clock.advance(hours=25)
    overdue = world.get("/api/v1/incidents?overdue=true", world.district).get_json()
    assert [i["id"] for i in overdue["incidents"]] == [late["id"]]
    rest = world.get("/api/v1/incidents?overdue=false", world.district).get_json()
    assert [i["id"] for i in rest["incidents"]] == [done["id"]]
    csv = world.get("/api/v1/incidents.csv?overdue=true", world.district)
    assert csv.status_code == 200 and csv.get_data(as_text=True).count("\n") >= 2
