"""The demo register of one community: every household of its buildings with people, special groups at
believable rates, a year of visits with some overdue, and the buildings' household counts unchanged."""

from __future__ import annotations

import json

from tests.residents_world import resident_key_file  # noqa: F401 (a fixture)


def test_the_demo_register_of_a_community_is_believable(world, workflow_url, cli):
    community = world.places[0].community_id
    households = world.sql(
        "SELECT sum(b.households) FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.community_id = :c",
        c=community,
    )[0][0]
    done = cli(workflow_url, "residents", "demo", "--community", community)
    assert done.exit_code == 0, done.output
    assert world.sql("SELECT count(*) FROM households")[0][0] == households
    after = world.sql(
        "SELECT sum(b.households) FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.community_id = :c",
        c=community,
    )[0][0]
    assert after == households  # the register counts what the buildings said
    people = world.sql("SELECT count(*) FROM residents")[0][0]
    assert 2.0 < people / households < 3.0  # seed 004: 68,000 people in 28,000 households
    share = dict(
        world.sql(
            "SELECT group_code, count(DISTINCT r.household_id)::float / :h FROM resident_groups g "
            "JOIN residents r ON r.id = g.resident_id GROUP BY group_code",
            h=households,
        )
    )
    assert 0.02 < share["lonely_elder"] < 0.06 and 0.005 < share["low_income"] < 0.03
    planned = world.sql(
        "SELECT count(DISTINCT r.household_id) FROM resident_groups g JOIN residents r ON r.id = g.resident_id"
    )[0][0]
    assert world.sql("SELECT count(*) FROM resident_visits")[0][0] > 10 * planned  # a year of them
    overdue = json.loads(cli(workflow_url, "residents", "overdue", "--json").output)["households"]
    assert 0.03 * planned < len(overdue) < 0.25 * planned  # some workers fell behind, most did not
    again = cli(workflow_url, "residents", "demo", "--community", community)
    assert again.exit_code == 1 and "no building without a register" in again.output
