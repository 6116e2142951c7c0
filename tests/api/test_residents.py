"""The register over HTTP, as the issue's story tells it: the community registers an elder living alone in
grid 01; her grid worker reads her record, the worker of the next grid cannot find her, a citizen cannot
read the register at all, and every staff read is in the access log the district reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from core.errors import ServerFault
from core.resident_keys import ResidentKey
from tests.residents_world import building_of, id_number, resident_key_file  # noqa: F401 (a fixture)

PHONE = "13912345678"


@pytest.fixture
def elder(world):
    """王秀英, 81, alone in room 301 of unit 2 of a building of the first grid, registered by the district."""
    place = world.places[0]
    body = {
        "building": building_of(world, place.grid_id),
        "unit": "2",
        "room": "301",
        "name": "王秀英",
        "sex": "F",
        "birth_year": 1945,
        "relation": "head",
        "phone": "139 1234 5678",
        "id_number": id_number(1),
        "groups": ["lonely_elder", "very_old"],
    }
    answer = world.post("/api/v1/residents", world.district, body)
    assert answer.status_code == 201, answer.json
    return answer.json


def _log_rows(world, resident_id: int) -> list[tuple]:
    return world.sql(
        "SELECT action, role FROM resident_access_log WHERE resident_id = :r ORDER BY id", r=resident_id
    )


def test_a_worker_sees_their_grid_and_no_other(world, elder):
    own, other = world.places[0], world.places[1]
    mine = world.user("网格员", "grid_worker", person=own.worker_id)
    theirs = world.user("邻格网格员", "grid_worker", person=other.worker_id)
    path = f"/api/v1/residents/{elder['id']}"

    seen = world.get(path, mine)
    assert seen.status_code == 200
    assert seen.json["phone"] == PHONE  # the worker calls on her
    assert seen.json["id_number"] == id_number(1)[:4] + "*" * 10 + id_number(1)[-4:]
    assert world.get(path, theirs).status_code == 404
    assert world.get(f"/api/v1/residents?grid={own.grid_id}", theirs).json["residents"] == []
    listed = world.get(f"/api/v1/residents?grid={own.grid_id}&limit=1", mine).json
    assert [r["id"] for r in listed["residents"]] == [elder["id"]] and listed["total"] == 1
    assert world.post("/api/v1/residents/search", theirs, {"id_number": id_number(1)}).status_code == 404
    assert world.get(path, world.district).json["id_number"] == id_number(1)
    citizen = world.user("张三", "citizen", phone="13812345678")
    assert world.get(path, citizen).status_code == 403
    assert world.get("/api/v1/residents", citizen).status_code == 403
    assert world.get(path).status_code == 401


def test_nothing_about_residents_in_public_reads(world, elder):
    for path in ("/api/v1/grids", "/open311/v2/requests.json", "/maps/board", "/api/v1/openapi.json"):
        answer = world.get(path)
        assert "王秀英" not in answer.get_data(as_text=True)
        assert PHONE not in answer.get_data(as_text=True)


def test_id_numbers_and_phones_are_not_readable_in_the_database_without_the_key(world, elder):
    row = world.sql(
        "SELECT phone_sealed, id_number_sealed, id_number_mac FROM residents WHERE id = :r", r=elder["id"]
    )[0]
    stored = b"".join(bytes(v) for v in row)
    for secret in (PHONE, id_number(1), id_number(1)[6:14]):  # the number, and the birth date inside it
        assert secret.encode() not in stored
    dump = world.sql("SELECT r::text FROM residents r WHERE id = :r", r=elder["id"])[0][0]
    assert id_number(1) not in dump and PHONE not in dump
    with pytest.raises(ServerFault):
        ResidentKey(os.urandom(32)).open("id_number", bytes(row[1]))
    key_file = Path(os.environ["WANGGE_RESIDENT_KEY_FILE"])  # the test's own (tests.residents_world)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    found = world.post("/api/v1/residents/search", world.district, {"id_number": id_number(1)})
    assert found.json["id"] == elder["id"]


def test_every_staff_read_leaves_an_access_log_row_the_district_reads(world, elder):
    worker = world.user("网格员", "grid_worker", person=world.places[0].worker_id)
    community = world.user("社区", "community_admin", scope=world.places[0].community_id)
    assert _log_rows(world, elder["id"]) == [("write", "district_admin")]
    world.get(f"/api/v1/residents/{elder['id']}", worker)
    world.get("/api/v1/residents", community)
    world.post("/api/v1/residents/search", world.street, {"id_number": id_number(1)})
    world.client.patch(
        f"/api/v1/residents/{elder['id']}", json={"note": "x"}, headers={"Authorization": f"Bearer {worker}"}
    )  # refused (400): nothing was read, nothing logged
    assert _log_rows(world, elder["id"]) == [
        ("write", "district_admin"),
        ("read", "grid_worker"),
        ("list", "community_admin"),
        ("search", "street_admin"),
    ]
    world.clock.advance(minutes=1)
    log = world.get(f"/api/v1/residents/access-log?resident={elder['id']}", world.district)
    assert [e["action"] for e in log.json["entries"]] == ["write", "read", "list", "search"]
    assert log.json["total"] == 4 and log.json["links"] == []
    paged = world.get(f"/api/v1/residents/access-log?resident={elder['id']}&limit=3&offset=1", world.district)
    assert [e["action"] for e in paged.json["entries"]] == ["read", "list", "search"]
    assert paged.json["total"] == 4 and [link["rel"] for link in paged.json["links"]] == ["prev"]
    assert world.get("/api/v1/residents/access-log", world.street).status_code == 403
    for statement in ("UPDATE resident_access_log SET actor = 'x'", "DELETE FROM resident_access_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            world.sql(statement)


def test_a_change_keeps_the_record_whole_and_refuses_a_second_id(world, elder):
    worker = world.user("网格员", "grid_worker", person=world.places[0].worker_id)
    headers = {"Authorization": f"Bearer {worker}"}
    path = f"/api/v1/residents/{elder['id']}"
    changed = world.client.patch(path, json={"phone": None, "groups": ["lonely_elder"]}, headers=headers)
    assert changed.status_code == 200, changed.json
    assert changed.json["phone"] is None and changed.json["groups"] == ["lonely_elder"]
    assert changed.json["name"] == "王秀英"
    second = dict(building=elder["household"]["building_id"], room="302", name="李四", id_number=id_number(1))
    assert world.post("/api/v1/residents", worker, second).status_code == 409
    wrong_check = id_number(2)[:17] + ("0" if id_number(2)[17] != "0" else "1")
    assert world.post("/api/v1/residents", worker, {**second, "id_number": wrong_check}).status_code == 400
    assert world.post("/api/v1/residents", worker, {**second, "groups": ["nobody"]}).status_code == 422
