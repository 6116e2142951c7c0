"""Valid data that once answered 500: a grid with two workers or none, a worker without duties or on a
retired grid, a street with no roads or buildings. Every page and the coverage API still answer."""

from __future__ import annotations

NEW_STREET = "211103999"


def _awkward(world) -> tuple[str, str]:
    """Two workers in one grid (one without duties), a grid left without any, a worker on a retired grid,
    and an empty street. Returns (the grid with two workers, the second worker's name)."""
    two, none = world.places[0], world.places[1]
    world.sql(
        "INSERT INTO people (id, name, role, phone, street_id, community_id, grid_id, duties) "
        "SELECT id || 'B', '第二网格员', role, '13900002222', street_id, community_id, grid_id, NULL "
        "FROM people WHERE id = :w",
        w=two.worker_id,
    )
    world.sql("UPDATE people SET duties = NULL WHERE id = :w", w=two.worker_id)
    world.sql("UPDATE people SET grid_id = :g WHERE id = :w", g=two.grid_id, w=none.worker_id)
    world.sql(
        "UPDATE grids SET valid_to = now() WHERE id = (SELECT min(id) FROM grids WHERE id NOT IN (:a, :b))",
        a=two.grid_id,
        b=none.grid_id,
    )
    world.sql(
        "INSERT INTO streets (id, name, district, geom) SELECT :s, '空街道', district, "
        "ST_Multi(ST_Buffer(ST_Centroid(geom), 0.001)) FROM streets WHERE id = :old",
        s=NEW_STREET,
        old=world.street_id,
    )
    return two.grid_id, "第二网格员"


def test_every_page_answers_with_awkward_people_and_an_empty_street(world):
    grid, second = _awkward(world)
    board = world.get("/maps/board")
    assert board.status_code == 200, board.get_data(as_text=True)[:300]
    page = board.get_data(as_text=True)
    assert second in page and "139****2222" in page and "暂无网格员 no worker yet" in page
    assert world.get("/maps/grids").status_code == 200
    for path in (
        f"/maps/coverage?street={NEW_STREET}",
        f"/maps/coverage?street={world.street_id}",
        "/maps/heat",
        "/maps/grids?measure=score",
    ):
        r = world.get(path, world.district)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:300])
    empty = world.get(f"/api/v1/patrols/coverage?street={NEW_STREET}", world.district)
    assert empty.status_code == 200, empty.get_json()
    body = empty.get_json()
    assert body["street_id"] == NEW_STREET and body["roads"]["length_m"] == 0
    assert body["segments"] == [] and body["grids"] == [] and "no roads" in body["note"]
    full = world.get(f"/api/v1/patrols/coverage?street={world.street_id}", world.district)
    assert full.status_code == 200 and any(g["id"] == grid for g in full.get_json()["grids"])


def test_every_page_answers_after_a_resplit_is_applied(world):
    """Workers of retired grids, new grids without a worker yet: the pages people open after a re-split."""
    community = "211103001003"
    preview = world.post("/api/v1/grids/resplit", world.district, {"community": community}).get_json()
    applied = world.post(f"/api/v1/grids/previews/{preview['preview_id']}/apply", world.district)
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["retired"] and applied.get_json()["created"]
    for path in (
        "/maps/board",
        "/maps/grids",
        "/maps/grids?measure=incidents",
        "/maps/grids?measure=score",
        "/maps/heat",
        f"/maps/coverage?street={world.street_id}",
        f"/maps/resplit?preview={preview['preview_id']}",
    ):
        r = world.get(path, world.district)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:300])
    board = world.get("/maps/board").get_data(as_text=True)
    names = world.sql("SELECT name FROM grids WHERE id = ANY(:g)", g=applied.get_json()["created"])
    assert names and all(name in board for (name,) in names)  # every new grid on the public board
