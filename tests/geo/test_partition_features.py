"""A boundary of several features drawn feature by feature (geo.partition.features): a community left with
no buildings is still one grid, its whole outline, as when all features were drawn in one."""

from __future__ import annotations

import shapely

from geo.coords import utm_epsg
from geo.partition import draw_grids


def test_a_community_without_buildings_is_one_empty_grid_over_its_outline(demo_layers):
    communities = demo_layers["communities"][["id", "geometry"]]
    empty = communities["id"].iloc[3]
    buildings = demo_layers["buildings"]
    buildings = buildings[buildings["community_id"] != empty]
    result = draw_grids(buildings, communities, demo_layers["roads"])
    grids = result.grids.set_index("id")
    mine = grids[grids.index.str.startswith(empty)]
    assert list(mine.index) == [f"{empty}01"]
    assert (
        mine["households"].iloc[0] == 0 and mine["n_buildings"].iloc[0] == 0 and not mine["in_band"].iloc[0]
    )
    epsg = utm_epsg(122.07, 41.12)
    outline = communities.set_index("id").to_crs(epsg).geometry[empty]
    assert shapely.symmetric_difference(mine.to_crs(epsg).geometry.iloc[0], outline).area < 1e-3
    assert {"id": f"{empty}01", "households": 0, "reason": "no buildings in it"} in result.report[
        "out_of_band"
    ]
    assert (
        result.report["n_grids"] == len(grids) and grids["households"].sum() == buildings["households"].sum()
    )
    assert result.assignments.index.equals(buildings.index) and result.assignments.notna().all()
