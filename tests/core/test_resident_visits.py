"""Visits against a clock the test moves: an elder living alone is visited every 7 days, a household on the
minimum allowance every 30; a household in both groups follows the shorter plan."""

from __future__ import annotations

import json

from tests.residents_world import building_of, id_number, resident_key_file  # noqa: F401 (a fixture)
from tests.workflow import START


def _register(world, room: str, groups: list[str], serial: int) -> int:
    place = world.places[0]
    body = {
        "building": building_of(world, place.grid_id),
        "room": room,
        "name": f"住户{room}",
        "id_number": id_number(serial),
        "groups": groups,
    }
    answer = world.post("/api/v1/residents", world.district, body)
    assert answer.status_code == 201, answer.json
    return answer.json["household"]["id"]


def _overdue(world, token: str, query: str = "") -> list[int]:
    answer = world.get(f"/api/v1/residents/visits/overdue{query}", token)
    assert answer.status_code == 200, answer.json
    return [h["household_id"] for h in answer.json["households"]]


def test_overdue_visits_follow_each_groups_plan_and_the_last_visit(world):
    place = world.places[0]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    alone = _register(world, "101", ["lonely_elder"], 1)  # every 7 days
    allowance = _register(world, "102", ["low_income"], 2)  # every 30 days
    both = _register(world, "103", ["low_income", "lonely_elder"], 3)  # the shorter: 7
    _register(world, "104", [], 4)  # no group, no plan

    world.clock.advance(days=6, hours=23)
    assert _overdue(world, worker) == []
    world.clock.advance(hours=2)  # 7 days and an hour since they were tagged
    assert sorted(_overdue(world, worker)) == sorted([alone, both])

    visit = {"household": alone, "note": "身体尚好", "lon": place.lon, "lat": place.lat}
    recorded = world.post("/api/v1/residents/visits", worker, visit)
    assert recorded.status_code == 201, recorded.json
    assert recorded.json["person_id"] == place.worker_id
    assert _overdue(world, worker) == [both]

    world.clock.advance(days=7, hours=1)  # alone's visit was 7 days and an hour ago; allowance within its 30
    assert _overdue(world, worker) == [both, alone]  # most overdue first
    world.clock.advance(days=17)
    answer = world.get(f"/api/v1/residents/visits/overdue?worker={place.worker_id}", world.district)
    assert [h["household_id"] for h in answer.json["households"]] == [both, alone, allowance]
    assert answer.json["by_worker"] == [
        {
            "grid_id": place.grid_id,
            "worker_id": place.worker_id,
            "worker_name": answer.json["households"][0]["worker_name"],
            "overdue": 3,
        }
    ]
    assert answer.json["households"][0]["days_overdue"] == 24.1  # due 7 days after the tag, 31 d 2 h ago


def test_visits_are_recorded_only_within_the_workers_grid_and_never_in_the_future(world):
    alone = _register(world, "101", ["lonely_elder"], 1)
    other = world.user("邻格网格员", "grid_worker", person=world.places[1].worker_id)
    assert world.post("/api/v1/residents/visits", other, {"household": alone}).status_code == 404
    assert _overdue(world, other) == []
    worker = world.user("网格员", "grid_worker", person=world.places[0].worker_id)
    later = (START.replace(hour=9)).isoformat()
    assert (
        world.post("/api/v1/residents/visits", worker, {"household": alone, "visited_at": later}).status_code
        == 422
    )
    assert (
        world.post("/api/v1/residents/visits", worker, {"household": alone, "lon": 122.07}).status_code == 400
    )
    assert world.sql("SELECT count(*) FROM resident_visits")[0][0] == 0


def test_the_command_line_lists_the_same_overdue_visits_at_its_now(world, workflow_url, cli):
    place = world.places[0]
    _register(world, "101", ["lonely_elder"], 1)
    at = "2026-03-10T08:00"  # Beijing time: 8 days after the tag
    done = cli(workflow_url, "residents", "overdue", "--grid", place.grid_id, "--now", at)
    assert done.exit_code == 0, done.output
    assert "overdue: 1 households" in done.output and "独居老人" in done.output
    early = cli(workflow_url, "residents", "overdue", "--grid", place.grid_id, "--now", "2026-03-05T08:00")
    assert "overdue: 0 households" in early.output


def test_overdue_visits_stand_beside_the_workers_three_rates(world):
    place = world.places[0]
    citizen = world.user("张三", "citizen", phone="13812345678")
    assert world.report(citizen, place).status_code == 201
    _register(world, "101", ["lonely_elder"], 1)
    _register(world, "102", ["low_income"], 2)
    world.clock.advance(days=8)  # the elder's 7 days have passed, the allowance's 30 have not

    def worker_row(query: str = "") -> dict:
        answer = world.get(f"/api/v1/scores?unit=worker{query}", world.district)
        assert answer.status_code == 200, answer.json
        (row,) = [r for r in answer.json["ranking"] if r["id"] == place.worker_id]
        return row

    row = worker_row()
    assert row["overdue_visits"] == 1 and row["incidents"] == 1
    before = worker_row("&to=2026-03-02T20:00")  # Beijing time: the period ended before any visit was due
    assert before["overdue_visits"] == 0
    assert before["overdue_visits"] == 0 and before["incidents"] == 1
    rates = (row["response_rate"], row["completion_rate"], row["satisfaction_rate"])
    expected = None if None in rates else 0.1 * rates[0] + 0.4 * rates[1] + 0.5 * rates[2]
    assert row["score"] == expected  # the three rates alone: overdue visits never enter the score
    street = world.get("/api/v1/scores?unit=street", world.district).json["ranking"]
    assert all("overdue_visits" not in r for r in street)


def test_the_catalogue_of_groups_is_kept_from_the_command_line(world, workflow_url, cli):
    listed = cli(workflow_url, "residents", "groups", "--json")
    assert listed.exit_code == 0, listed.output
    elder = next(g for g in json.loads(listed.output) if g["code"] == "lonely_elder")
    assert elder["visit_days"] == 7
    changed = cli(
        workflow_url,
        "residents",
        "group",
        "lonely_elder",
        "--name-zh",
        "独居老人",
        "--name-en",
        "Elders alone",
        "--visit-days",
        "5",
    )
    assert changed.exit_code == 0 and "every 5 days" in changed.output
    assert world.sql("SELECT visit_days FROM special_groups WHERE code = 'lonely_elder'")[0][0] == 5
    bad = cli(
        workflow_url, "residents", "group", "x y", "--name-zh", "坏", "--name-en", "bad", "--visit-days", "0"
    )
    assert bad.exit_code != 0 and "visit_days" in bad.output
    assert world.sql("SELECT count(*) FROM special_groups WHERE code = 'x y'")[0][0] == 0


def test_visits_join_the_workers_patrol_record(world):
    place = world.places[0]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    alone = _register(world, "101", ["lonely_elder"], 1)
    world.clock.advance(hours=1)
    here = {"household": alone, "note": "上门", "lon": place.lon, "lat": place.lat}
    assert world.post("/api/v1/residents/visits", worker, here).status_code == 201
    assert world.post("/api/v1/residents/visits", worker, {"household": alone}).status_code == 201
    world.clock.advance(hours=1)
    report = world.get(f"/api/v1/patrols/coverage?street={world.street_id}", world.district)
    assert report.status_code == 200, report.json
    rows = {w["id"]: w for w in report.json["workers"]}
    assert (rows[place.worker_id]["visits"], rows[place.worker_id]["visits_located"]) == (2, 1)
    assert all(w["visits"] == 0 for wid, w in rows.items() if wid != place.worker_id)
