"""Loading is all or nothing, and grid history stays readable: in a transaction rolled back after each test."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from boundaries.demo import make_district
from boundaries.load import ImportRejected, load_layers
from geo.locate import Locator
from store.hierarchy import load_hierarchy, read_table
from store.models import Building, Grid, Street


def test_a_bad_layer_late_in_a_load_undoes_the_earlier_layers(session):
    layers = make_district(seed=11)
    for frame in layers.values():  # another street's codes, so nothing clashes with the stored demo
        for col in ("id", "street_id", "community_id", "grid_id", "segment_id"):
            if col in frame.columns:
                frame[col] = (
                    frame[col]
                    .astype(object)
                    .map(lambda v: v.replace("211103001", "211103901", 1) if isinstance(v, str) else v)
                )
    layers["buildings"].loc[layers["buildings"].index[3], "households"] = -1
    before = session.scalar(select(func.count()).select_from(Street))
    with pytest.raises(ImportRejected) as exc:
        load_layers(session, layers)
    assert exc.value.layer == "buildings"
    assert any("households -1" in p.reason for p in exc.value.problems)
    assert session.scalar(select(func.count()).select_from(Street)) == before
    assert session.get(Street, "211103901") is None


def test_retired_grids_leave_locating_but_stay_in_history(conn):
    grid_id = conn.execute(text("SELECT id FROM grids ORDER BY id LIMIT 1")).scalar_one()
    total = conn.execute(text("SELECT count(*) FROM grids")).scalar_one()
    conn.execute(
        text(
            "UPDATE buildings SET grid_id = (SELECT id FROM grids WHERE id <> :g ORDER BY id LIMIT 1) "
            "WHERE grid_id = :g"
        ),
        {"g": grid_id},
    )
    conn.execute(
        text("UPDATE grids SET valid_to = now() + interval '1 second' WHERE id = :g"), {"g": grid_id}
    )
    assert grid_id not in set(read_table(conn, "grids")["id"])
    history = read_table(conn, "grids", include_history=True)
    assert grid_id in set(history["id"]) and len(history) == total
    hierarchy = load_hierarchy(conn)
    assert grid_id not in set(hierarchy.grids["id"])
    centre = history.set_index("id").geometry[grid_id].representative_point()
    assert Locator(hierarchy).locate_one(centre.x, centre.y)["grid_id"] != grid_id


def test_the_schema_refuses_what_the_checks_refuse(session):
    from sqlalchemy.exc import IntegrityError

    grid = session.scalars(select(Grid).limit(1)).one()
    b = session.scalars(select(Building).where(Building.grid_id == grid.id).limit(1)).one()
    with pytest.raises(IntegrityError), session.begin_nested():
        b.households = -3
        session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text("INSERT INTO people (id, name, role) VALUES ('x', '某人', 'street_chief')"))
