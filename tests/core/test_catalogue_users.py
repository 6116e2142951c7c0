"""The catalogue (validated on every way in) and API tokens (hashed, scoped, revocable), by API and CLI."""

from __future__ import annotations

import json

from core.catalogue import read_catalogue_file
from core.vocabulary import beijing_text


def _url(world) -> str:
    return world.engine.url.render_as_string(hide_password=False)


def test_the_shipped_catalogue_covers_every_tier():
    catalogue = read_catalogue_file()
    tiers = [c.tier for c in catalogue.categories]
    assert tiers.count("A") > tiers.count("B") > tiers.count("C") >= tiers.count("D") >= 1
    assert all(c.departments for c in catalogue.categories if c.tier != "A")


def test_catalogue_edits_through_the_api(world):
    listing = world.get("/api/v1/categories").get_json()  # public
    assert {"A01", "B01", "C01", "D01"} <= {c["code"] for c in listing["categories"]}
    new = {
        "categories": [
            {
                "code": "A20",
                "name_zh": "高空抛物",
                "name_en": "Objects thrown from height",
                "tier": "A",
                "response_limit_min": 15,
                "completion_limit_h": 12,
            }
        ]
    }
    assert world.post("/api/v1/categories", world.street, new).status_code == 403
    assert world.post("/api/v1/categories", None, new).status_code == 401
    bad = {"categories": [{**new["categories"][0], "tier": "E", "departments": ["army"]}]}
    r = world.post("/api/v1/categories", world.district, bad)
    assert r.status_code == 422 and "tier" in r.get_json()["detail"]
    unknown = {"categories": [{**new["categories"][0], "departments": ["army"]}]}
    r = world.post("/api/v1/categories", world.district, unknown)
    assert r.status_code == 422 and "unknown department 'army'" in r.get_json()["detail"]
    slow = {"categories": [{**new["categories"][0], "response_limit_min": 2000}]}
    assert world.post("/api/v1/categories", world.district, slow).status_code == 422
    assert "A20" not in {c["code"] for c in world.get("/api/v1/categories").get_json()["categories"]}
    assert world.post("/api/v1/categories", world.district, new).get_json() == {
        "departments": 0,
        "categories": 1,
    }
    citizen = world.user("张三", "citizen", phone="13812345678")
    assert (
        world.report(citizen, world.places[0], "A20").get_json()["deadlines"]["response_due"]
        == "2026-03-02T08:15:00+08:00"
    )


def test_catalogue_cli(world, cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "categories": [
                    {
                        "code": "X1",
                        "name_zh": "x",
                        "name_en": "x",
                        "tier": "A",
                        "departments": ["nowhere"],
                        "response_limit_min": 10,
                        "completion_limit_h": 1,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    result = cli(_url(world), "catalogue", "load", str(bad))
    assert result.exit_code == 1 and "unknown department 'nowhere'" in result.output
    result = cli(_url(world), "catalogue", "list")
    assert result.exit_code == 0 and "X1" not in result.output and "违章搭建" in result.output


def test_users_add_list_revoke(world, cli):
    place = world.places[0]
    result = cli(
        _url(world), "users", "add", "网格员甲", "--role", "grid_worker", "--person", place.worker_id
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("wg_")
    stored = world.sql("SELECT token_hash, scope_id FROM api_tokens WHERE name = '网格员甲'")[0]
    assert stored[0] != token and len(stored[0]) == 64 and stored[1] == place.grid_id  # scope from the person
    assert world.get("/api/v1/incidents", token).status_code == 200
    listing = cli(_url(world), "users", "list")
    assert "网格员甲" in listing.output and token not in listing.output
    # Times are shown in Beijing time with the offset, as in the API and on the pages.
    created = world.sql("SELECT created_at FROM api_tokens WHERE name = '网格员甲'")[0][0]
    assert beijing_text(created) in listing.output and "+08:00" in listing.output
    token_id = world.sql("SELECT id FROM api_tokens WHERE name = '网格员甲'")[0][0]
    assert cli(_url(world), "users", "revoke", str(token_id)).exit_code == 0
    assert world.get("/api/v1/incidents", token).status_code == 401
    assert cli(_url(world), "users", "revoke", str(token_id)).exit_code == 1
    for args, words in (
        (["--role", "grid_worker"], "needs --scope"),
        (["--role", "street_admin", "--scope", "nowhere"], "unknown street"),
        (["--role", "grid_worker", "--person", "P404"], "unknown person"),
    ):
        result = cli(_url(world), "users", "add", "x", *args)
        assert result.exit_code == 1 and words in result.output, result.output
