"""A boundary of several features drawn feature by feature (geo.partition.features): a community left with
no buildings is still one grid, its whole outline, as when all features were drawn in one."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
import shapely.affinity

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


def test_a_building_across_two_communities_goes_to_one_and_both_still_tile(demo_layers):
    """A building drawn over the line between two communities (hand-drawn outlines do that) is drawn in the
    community holding most of it, cut to it there: every building is in a grid, and each community's grids
    cover it exactly once."""
    epsg = utm_epsg(122.07, 41.12)
    communities = demo_layers["communities"][["id", "geometry"]]
    metric = communities.to_crs(epsg).geometry.values
    a, b = next(
        (i, j)
        for i in range(len(metric))
        for j in range(i + 1, len(metric))
        if shapely.length(shapely.intersection(metric[i].boundary, metric[j].boundary)) > 50
    )
    shared = shapely.intersection(metric[a].boundary, metric[b].boundary)
    square = shapely.box(-6, -6, 6, 6)
    on_line = shapely.line_interpolate_point(shapely.line_merge(shared), 0.5, normalized=True)
    building = shapely.affinity.translate(square, on_line.x + 2, on_line.y)
    buildings = demo_layers["buildings"]
    extra = gpd.GeoDataFrame(
        {"id": ["X1"], "households": [12], "community_id": [None]}, geometry=[building], crs=epsg
    ).to_crs(buildings.crs)
    buildings = pd.concat([buildings, extra], ignore_index=True)
    result = draw_grids(buildings, communities, demo_layers["roads"])
    grid = result.assignments.iloc[-1]
    assert grid[:-2] in (communities["id"].iloc[a], communities["id"].iloc[b])
    assert (
        result.assignments.notna().all() and result.grids["households"].sum() == buildings["households"].sum()
    )
    grids = result.grids.to_crs(epsg)
    for i in (a, b):
        mine = grids[grids["id"].str[:-2] == communities["id"].iloc[i]].geometry
        assert abs(mine.area.sum() - metric[i].area) < 1.0
        assert shapely.symmetric_difference(mine.union_all(), metric[i]).area < 1.0
