"""The demo district looks like Zhenxing street: its figures, its tiling, its determinism."""

from __future__ import annotations

import pyogrio
import pytest
import shapely

from boundaries.demo import make_district, write_district
from boundaries.validate import ERROR, Tolerances, validate_hierarchy


def test_zhenxing_figures(demo_layers):
    d = demo_layers
    assert len(d["streets"]) == 1 and len(d["communities"]) == 12
    assert 60 <= len(d["grids"]) <= 68
    assert len(d["roads"]) == 16 and d["roads"]["name"].nunique() == 16
    assert len(d["road_segments"]) == 42
    people = d["people"]
    chiefs = people[people["role"] == "street_chief"]
    assert (chiefs["chief_kind"] == "party").sum() == 44 and (chiefs["chief_kind"] == "merchant").sum() == 32
    assert set(chiefs["segment_id"]) == set(d["road_segments"]["id"])  # every segment has a chief
    workers = people[people["role"] == "grid_worker"]
    assert sorted(workers["grid_id"]) == sorted(d["grids"]["id"])  # one worker per grid
    households = d["buildings"]["households"].sum()
    assert 27_000 <= households <= 28_500
    area_km2 = d["streets"].to_crs(32651).area.sum() / 1e6
    assert 0.6 <= area_km2 <= 0.8
    lon, lat = d["streets"].union_all().centroid.coords[0]
    assert abs(lon - 122.07) < 0.01 and abs(lat - 41.12) < 0.01
    homes = d["buildings"][d["buildings"]["households"] > 0]
    assert homes["floors"].between(6, 33).all() and homes["floors"].max() >= 24
    assert people["phone"].str.fullmatch(r"1[3-9]\d{9}").all()


def test_ids_encode_their_parents(demo_layers):
    d = demo_layers
    assert all(
        c.startswith(s) for c, s in zip(d["communities"]["id"], d["communities"]["street_id"], strict=True)
    )
    assert all(g.startswith(c) for g, c in zip(d["grids"]["id"], d["grids"]["community_id"], strict=True))
    grid_comm = d["grids"].set_index("id")["community_id"]
    assert all(
        b.startswith(grid_comm[g])
        for b, g in zip(d["buildings"]["id"], d["buildings"]["grid_id"], strict=True)
    )


def test_grids_tile_communities_and_buildings_sit_in_one_grid(demo_layers):
    findings = validate_hierarchy(demo_layers, Tolerances(topology_m=0.1))
    assert [f for f in findings if f.severity == ERROR] == []
    grids = demo_layers["grids"].to_crs(32651)
    comms = demo_layers["communities"].to_crs(32651)
    assert abs(grids.area.sum() - comms.area.sum()) < 1.0
    b = demo_layers["buildings"].to_crs(32651)
    owner = grids.set_index("id").geometry
    assert all(owner[g].buffer(0.01).contains(geom) for g, geom in zip(b["grid_id"], b.geometry, strict=True))


def test_every_grid_is_one_valid_polygon_holding_its_buildings_households(demo_layers):
    grids = demo_layers["grids"]
    assert (shapely.get_num_geometries(grids.geometry.values) == 1).all() and grids.is_valid.all()
    counted = demo_layers["buildings"].groupby("grid_id")["households"].sum()
    assert (grids.set_index("id")["households"] == counted.reindex(grids["id"]).fillna(0)).all()
    assert grids["households"].min() > 100  # no grid emptied to make another whole


def test_same_seed_same_district_other_seed_other_district():
    a, b, c = make_district(seed=3), make_district(seed=3), make_district(seed=4)
    assert (
        a["grids"].geometry.equals(b["grids"].geometry) and (a["people"]["name"] == b["people"]["name"]).all()
    )
    assert not shapely.equals(a["streets"].geometry.iloc[0], c["streets"].geometry.iloc[0])


def test_scale_lays_streets_side_by_side_without_overlap():
    d = make_district(seed=7, scale=3)
    assert len(d["streets"]) == 3 and d["streets"]["id"].is_unique and d["grids"]["id"].is_unique
    s = d["streets"].geometry.values
    assert not any(shapely.intersects(s[i], s[j]) for i in range(3) for j in range(i + 1, 3))


def test_the_geopackage_has_every_layer_and_contract_columns(tmp_path, demo_layers):
    path = write_district(demo_layers, tmp_path)
    assert path.name == "district.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"streets", "communities", "grids", "buildings", "roads", "road_segments", "people"}
    cols = {name: set(pyogrio.read_info(path, layer=name)["fields"]) for name in layers}
    assert {"id", "name", "street_id"} <= cols["communities"]
    assert {"id", "name", "community_id", "households"} <= cols["grids"]
    assert {"id", "name", "grid_id", "households", "floors", "units", "population", "compound"} <= cols[
        "buildings"
    ]
    assert {"id", "name", "street_id", "road_name", "from_desc", "to_desc"} <= cols["road_segments"]


@pytest.mark.parametrize("scale", [0, -1])
def test_cli_refuses_a_silly_scale(cli, scale, tmp_path):
    r = cli(None, "demo", "--out", str(tmp_path), "--scale", str(scale))
    assert r.exit_code == 2 and "--scale must be 1 or more" in r.output


def test_no_thin_gaps_along_the_roads(demo_layers):
    """Reports are made on roads, and grid edges run along them: every such point must land in a grid."""
    import numpy as np

    from geo.locate import Hierarchy, Locator

    loc = Locator(Hierarchy.from_layers(demo_layers))
    rng = np.random.default_rng(1)
    lines = demo_layers["roads"].geometry.values
    pts = shapely.line_interpolate_point(
        lines[rng.integers(0, len(lines), 20_000)], rng.uniform(0, 1, 20_000), normalized=True
    )
    street = demo_layers["streets"].geometry.iloc[0]
    inner = shapely.distance(pts, street.boundary) > 1e-5  # about a metre inside the street
    xy = shapely.get_coordinates(pts[inner])
    status = loc.locate_arrays(xy[:, 0], xy[:, 1])["status"]
    assert inner.sum() > 15_000 and (status == "ok").all()
