"""Informants (网格信息员), seed 004's rule of at least 20 per grid worker: one worker has found twenty, the
next only three; the list and `wangge validate` say who falls short, and phones are sealed."""

from __future__ import annotations

import json

from tests.residents_world import resident_key_file  # noqa: F401 (a fixture)


def test_informants_per_worker_and_the_validate_warning(world, workflow_url, cli):
    full, short = world.places[0], world.places[1]
    one = world.user("网格员", "grid_worker", person=full.worker_id)
    two = world.user("邻格网格员", "grid_worker", person=short.worker_id)
    for n in range(20):
        body = {"name": f"信息员{n}", "phone": f"1390000{n:04d}"}
        assert world.post("/api/v1/residents/informants", one, body).status_code == 201
    for n in range(3):
        assert world.post("/api/v1/residents/informants", two, {"name": f"邻{n}"}).status_code == 201
    assert (
        world.post("/api/v1/residents/informants", one, {"worker": short.worker_id, "name": "x"}).status_code
        == 403
    )

    mine = world.get("/api/v1/residents/informants", one).json
    assert mine["minimum"] == 20 and len(mine["informants"]) == 20
    assert mine["informants"][0]["phone"] == "13900000000"
    assert mine["workers"] == [
        {
            "worker_id": full.worker_id,
            "worker_name": mine["workers"][0]["worker_name"],
            "grid_id": full.grid_id,
            "informants": 20,
            "below_minimum": False,
        }
    ]
    everyone = {
        w["worker_id"]: w for w in world.get("/api/v1/residents/informants", world.district).json["workers"]
    }
    assert everyone[short.worker_id]["informants"] == 3 and everyone[short.worker_id]["below_minimum"]
    stored = world.sql("SELECT phone_sealed FROM informants WHERE name = '信息员0'")[0][0]
    assert b"13900000000" not in bytes(stored)

    done = cli(workflow_url, "validate", "--json")
    warned = {f["id"] for f in json.loads(done.output) if f["check"] == "few_informants"}
    assert short.worker_id in warned and full.worker_id not in warned
    assert len(warned) == len(world.places) - 1  # every other worker has none yet
