"""群众点单 → 政府派单 → 志愿者接单: an elder living alone asks for help with her shopping; the grid worker
records it, the street sends it to its service team, a member takes it and gives two and a half hours."""

from __future__ import annotations

import json

from tests.residents_world import building_of, id_number, resident_key_file  # noqa: F401 (a fixture)


def _household(world) -> int:
    body = {"building": building_of(world, world.places[0].grid_id), "room": "101", "name": "王秀英"}
    body["id_number"] = id_number(1)
    return world.post("/api/v1/residents", world.district, body).json["household"]["id"]


def _team(world, name: str, street: str | None = None) -> dict:
    members = [{"name": "刘志愿", "skills": ["购物", "陪护"]}, {"name": "陈志愿", "skills": ["维修"]}]
    body = {"name": name, "kind": "service", "members": members} | ({"street": street} if street else {})
    answer = world.post("/api/v1/volunteers/teams", world.street, body)
    assert answer.status_code == 201, answer.json
    return answer.json


def test_a_request_goes_from_order_to_dispatch_to_acceptance_and_records_its_hours(world, workflow_url, cli):
    worker = world.user("网格员", "grid_worker", person=world.places[0].worker_id)
    team = _team(world, "振兴街道为老服务队")
    member, outsider = team["members"][0]["id"], _team(world, "另一队")["members"][0]["id"]
    asked = world.post(
        "/api/v1/volunteers/requests",
        worker,
        {"household": _household(world), "need": "代买菜", "skill": "购物"},
    )
    assert asked.status_code == 201 and asked.json["status"] == "requested"
    path = f"/api/v1/volunteers/requests/{asked.json['id']}"

    assert world.post(f"{path}/accept", worker, {"volunteer": member}).status_code == 409  # not yet sent
    assert world.post(f"{path}/dispatch", worker, {"team": team["id"]}).status_code == 403  # admins send
    sent = world.post(f"{path}/dispatch", world.street, {"team": team["id"]})
    assert sent.status_code == 200 and sent.json["status"] == "dispatched"
    assert world.post(f"{path}/dispatch", world.street, {"team": team["id"]}).status_code == 409
    assert world.post(f"{path}/accept", worker, {"volunteer": outsider}).status_code == 422
    world.clock.advance(minutes=30)
    taken = world.post(f"{path}/accept", worker, {"volunteer": member})
    assert taken.json["status"] == "accepted" and taken.json["volunteer_id"] == member
    assert world.post(f"{path}/complete", worker, {"note": "已送达"}).status_code == 400  # hours needed
    world.clock.advance(hours=3)
    done = world.post(f"{path}/complete", worker, {"hours": 2.5, "note": "已送达"})
    assert done.json["status"] == "completed" and done.json["hours"] == 2.5

    world.clock.advance(minutes=1)
    report = world.get("/api/v1/volunteers/hours", world.district).json
    assert [(v["volunteer_id"], v["requests"], v["hours"]) for v in report["volunteers"]] == [
        (member, 1, 2.5)
    ]
    assert report["teams"] == [{"team_id": team["id"], "team_name": "振兴街道为老服务队", "hours": 2.5}]
    assert world.get("/api/v1/volunteers/hours", worker).status_code == 403
    other = world.user("邻格网格员", "grid_worker", person=world.places[1].worker_id)
    assert world.post(f"{path}/complete", other, {"hours": 1}).status_code == 404  # not their grid

    # The command line reads the same teams and hours.
    listed = cli(workflow_url, "residents", "teams")
    assert (
        listed.exit_code == 0 and "振兴街道为老服务队" in listed.output and "刘志愿, 陈志愿" in listed.output
    )
    hours = cli(workflow_url, "residents", "hours", "--from", "2026-03-01", "--to", "2026-03-10", "--json")
    assert hours.exit_code == 0, hours.output
    assert json.loads(hours.output)["teams"] == report["teams"]
