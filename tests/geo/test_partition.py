"""Drawing grids: every property is measured on the output, not taken from the algorithm's report."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from boundaries.demo import lattice_buildings
from geo.partition import PartitionError, draw_grids, polsby_popper, resplit_grids

E0, N0 = 421_000.0, 4_552_000.0  # near Panjin, in UTM zone 51 (lattice_buildings' origin)


def synthetic(n: int = 1200, seed: int = 0):
    return lattice_buildings(n, seed)


def check_tiling(grids: gpd.GeoDataFrame, boundary, buildings, assignments, epsg: int = 32651):
    g = grids.to_crs(epsg)
    parent = shapely.union_all(boundary.to_crs(epsg).geometry.values)
    union = shapely.union_all(g.geometry.values)
    assert parent.symmetric_difference(union).area < 1.0  # union equals the parent within 1 m²
    assert abs(g.area.sum() - union.area) < 1.0  # no overlaps
    assert (g.geom_type == "Polygon").all()  # each grid one piece
    fp = buildings.to_crs(epsg).geometry.values
    owner = g.set_index("id").geometry
    for geom, gid in zip(fp, assignments, strict=True):
        assert owner[gid].buffer(0.01).covers(geom)  # every building wholly in its grid
    hh = buildings.groupby(assignments.to_numpy())["households"].sum()
    assert (hh.reindex(g["id"]).to_numpy() == g["households"].to_numpy()).all()


def test_fine_grained_buildings_are_balanced_exactly_and_tile(monkeypatch):
    buildings, boundary, roads, _ = synthetic()
    result = draw_grids(buildings, boundary, roads)
    g = result.grids
    check_tiling(g, boundary, buildings, result.assignments)
    assert len(g) == round(buildings["households"].sum() / 500)
    assert g["households"].between(450, 550).all()
    dev = (g["households"] - 500).abs().mean() / 500
    assert dev < 0.05
    pp = polsby_popper(g.to_crs(32651).geometry.values)
    # Compact, not ragged: above spopt MaxPHeuristic's median on the same cells (0.55 to 0.58, bench/RESULTS.md).
    assert np.median(pp) > 0.58
    again = draw_grids(buildings, boundary, roads)
    assert again.grids.geometry.equals(g.geometry) and (again.assignments == result.assignments).all()


def test_the_demo_street_redrawn_follows_roads_and_reports_every_grid_out_of_band(demo_layers):
    result = draw_grids(demo_layers["buildings"], demo_layers["streets"], demo_layers["roads"])
    g = result.grids
    check_tiling(g, demo_layers["streets"], demo_layers["buildings"], result.assignments)
    out = set(g.loc[~g["households"].between(450, 550), "id"])
    assert out == {o["id"] for o in result.report["out_of_band"]}
    # Towers of up to 496 households fit the band better in some counts of grids than in others: the count
    # chosen is one of those that can be in band on average, and two grids in three end in band (one count
    # alone, 56, leaves 55 %).
    total = demo_layers["buildings"]["households"].sum()
    assert total / 550 <= len(g) <= total / 450
    assert g["households"].between(450, 550).mean() >= 0.65
    internal = shapely.union_all(g.to_crs(32651).boundary.values).difference(
        shapely.union_all(g.to_crs(32651).geometry.values).boundary
    )
    near = shapely.union_all(demo_layers["roads"].to_crs(32651).geometry.values).buffer(15)
    share = internal.intersection(near).length / internal.length
    assert share > 0.4 and abs(share - result.report["road_share"]) < 0.01


def test_bad_input_is_refused():
    buildings, boundary, roads, _ = synthetic(50)
    bad = buildings.copy()
    bad.loc[3, "households"] = -2
    with pytest.raises(PartitionError, match="households -2"):
        draw_grids(bad, boundary)
    far = buildings.copy()
    far.loc[0, "geometry"] = shapely.box(123.0, 41.0, 123.0001, 41.0001)
    with pytest.raises(PartitionError, match="outside the boundary"):
        draw_grids(far, boundary)
    with pytest.raises(PartitionError, match="no 'hh' column"):
        draw_grids(buildings, boundary, households_field="hh")


def write_inputs(tmp_path, buildings, roads, boundary=None) -> list[str]:
    """Write the input files a user would have; returns the shared --buildings/--roads arguments."""
    buildings.to_file(tmp_path / "b.geojson")
    roads.to_frame("geometry").to_file(tmp_path / "r.geojson")
    if boundary is not None:
        boundary.to_frame("geometry").to_file(tmp_path / "s.geojson")
    return ["--buildings", str(tmp_path / "b.geojson"), "--roads", str(tmp_path / "r.geojson")]


def test_cli_draws_from_files(cli, tmp_path):
    buildings, boundary, roads, _ = synthetic(400)
    args = write_inputs(tmp_path, buildings, roads, boundary)
    r = cli(
        None,
        f"grids draw {' '.join(args)} --boundary {tmp_path / 's.geojson'} --out {tmp_path / 'g.gpkg'} --assignments {tmp_path / 'a.gpkg'}",
    )
    assert r.exit_code == 0, r.output
    grids = gpd.read_file(tmp_path / "g.gpkg")
    assert {"id", "households", "n_buildings"} <= set(grids.columns)
    assigned = gpd.read_file(tmp_path / "a.gpkg")
    assert set(assigned["grid_id"]) == set(grids["id"])
    assert grids["n_buildings"].sum() == len(assigned)
    r = cli(
        None,
        f"grids draw --buildings {tmp_path / 'b.geojson'} --boundary {tmp_path / 's.geojson'} --out {tmp_path / 'x.gpkg'} --target 0",
    )
    assert r.exit_code == 2 and "--target must be positive" in r.output


def test_resplit_changes_only_what_drifted_out_of_band():
    """A year on: 10 % of buildings change households by up to ±30 %, and a new compound is built."""
    buildings, boundary, roads, step = synthetic()
    first = draw_grids(buildings, boundary, roads)
    rng = np.random.default_rng(9)
    later = buildings.copy()
    changed = rng.choice(len(later), size=len(later) // 10, replace=False)
    later.loc[changed, "households"] = (
        (later.loc[changed, "households"] * rng.uniform(0.7, 1.3, len(changed))).round().astype(int)
    )
    # the new compound: 40 buildings in the gaps of one corner of the lattice, with no grid yet
    later["grid_id"] = first.assignments
    metric = later.to_crs(32651)
    gx = E0 + step * (np.arange(40) % 8 + 1)  # lattice corners: between the existing buildings
    gy = N0 + step * (np.arange(40) // 8 + 1)
    new = gpd.GeoDataFrame(
        {"households": np.full(40, 30)},
        geometry=shapely.buffer(shapely.points(gx, gy), 2.5, cap_style="square"),
        crs=32651,
    )
    hit, _ = shapely.STRtree(metric.geometry.values).query(new.geometry.values, predicate="intersects")
    keep = ~np.isin(np.arange(len(new)), hit)
    later = gpd.GeoDataFrame(pd.concat([metric, new[keep]], ignore_index=True), crs=32651).to_crs(4326)
    result = resplit_grids(later, first.grids, roads)
    g = result.grids
    check_tiling(g, boundary, later, result.assignments)
    assert g["households"].between(450, 550).all()
    old = first.assignments.reindex(later.index)
    had = old.notna()
    same_code = (result.assignments[had] == old[had]).mean()
    # A changed grid is a new version with a new code; the new grid holding most of its households continues
    # it. Computed here from the output alone: a building keeps its grid if it stays with that continuation.
    table = pd.DataFrame(
        {"old": old[had], "new": result.assignments[had], "hh": later.loc[had, "households"]}
    )
    successor = (
        table.groupby(["old", "new"])["hh"]
        .sum()
        .reset_index()
        .sort_values(["old", "hh", "new"])
        .groupby("old")["new"]
        .last()
    )
    kept = (table["new"] == table["old"].map(successor)).mean()
    assert kept >= 0.9 and same_code >= 0.8
    # Its figures count a new building by the old grid its site lay in, so they include the new compound.
    assert kept == pytest.approx(result.report["buildings_kept_share"], abs=0.03)
    assert same_code == pytest.approx(result.report["buildings_same_code_share"], abs=0.03)
    unchanged = set(result.report["unchanged"])
    assert unchanged and unchanged <= set(first.grids["id"]) and unchanged <= set(g["id"])
    for gid in unchanged:  # an unchanged code means the same buildings
        assert set(result.assignments[result.assignments == gid].index) == set(old[old == gid].index)
    new_ids = set(g["id"]) - set(first.grids["id"])
    assert all(int(i[1:]) > len(first.grids) for i in new_ids)  # next free codes


def test_cli_resplit_from_files(cli, tmp_path):
    buildings, boundary, roads, _ = synthetic(400)
    first = draw_grids(buildings, boundary, roads)
    first.grids.to_file(tmp_path / "grids.gpkg")
    grown = buildings.copy()
    grown.loc[:40, "households"] = grown.loc[:40, "households"] * 2
    args = write_inputs(tmp_path, grown, roads)
    r = cli(
        None,
        f"grids resplit {' '.join(args)} --grids {tmp_path / 'grids.gpkg'} --out {tmp_path / 'new.gpkg'} --mapping {tmp_path / 'map.csv'}",
    )
    assert r.exit_code == 0, r.output
    new = gpd.read_file(tmp_path / "new.gpkg")
    mapping = pd.read_csv(tmp_path / "map.csv")
    assert set(mapping["new_grid"]) == set(new["id"]) and set(mapping["old_grid"]) == set(first.grids["id"])
    assert np.allclose(mapping.groupby("old_grid")["share"].sum(), 1.0)
    assert new["households"].sum() == grown["households"].sum()


def _with_slab(n: int = 400):
    """The lattice plus one slab block of 8 units and 1,200 households (150 a unit): too big for one grid."""
    buildings, boundary, roads, step = synthetic(n)
    metric = buildings.to_crs(32651)
    cx, cy = E0 + 3 * step, N0 + 2 * step  # between lattice points
    slab = shapely.box(cx - 20, cy - 5, cx + 20, cy + 5)
    metric = metric[~metric.intersects(slab.buffer(2))].assign(units=1)
    slab_row = gpd.GeoDataFrame({"households": [1200], "units": [8]}, geometry=[slab], crs=32651)
    together = gpd.GeoDataFrame(pd.concat([metric, slab_row], ignore_index=True), crs=32651).to_crs(4326)
    return together, boundary, roads, slab


def test_a_building_above_the_band_is_split_by_its_units():
    buildings, boundary, roads, slab = _with_slab()
    slab_at = buildings.index[-1]
    whole = draw_grids(buildings, boundary, roads)
    alone = whole.assignments[slab_at]
    assert whole.grids.set_index("id").loc[alone, "households"] >= 1200
    assert any(o["id"] == alone and "one building" in o["reason"] for o in whole.report["out_of_band"])

    result = draw_grids(buildings, boundary, roads, units_field="units")
    g = result.grids.to_crs(32651).set_index("id")
    parent = shapely.union_all(boundary.to_crs(32651).geometry.values)
    assert parent.symmetric_difference(shapely.union_all(g.geometry.values)).area < 1.0
    assert abs(g.area.sum() - parent.area) < 1.0
    assert g["households"].between(450, 550).all()
    runs = result.units
    assert (runs["building"] == slab_at).all() and runs["grid_id"].nunique() >= 2
    covered = sorted(u for r in runs.itertuples() for u in range(r.unit_from, r.unit_to + 1))
    assert covered == list(range(1, 9)) and runs["households"].sum() == 1200
    # Each run of units lies in its grid: the grid holds that share of the slab, cut across its long side.
    for r in runs.itertuples():
        share = g.geometry[r.grid_id].intersection(slab).area / slab.area
        assert share == pytest.approx((r.unit_to - r.unit_from + 1) / 8, abs=0.01)
    # Households per grid, from the output alone: whole buildings by their grid, the slab by its units.
    others = buildings.drop(index=slab_at)
    fp = others.to_crs(32651).geometry.values
    for geom, gid in zip(fp, result.assignments.drop(index=slab_at), strict=True):
        assert g.geometry[gid].buffer(0.01).covers(geom)
    counted = (
        others.groupby(result.assignments.drop(index=slab_at).to_numpy())["households"]
        .sum()
        .add(runs.groupby("grid_id")["households"].sum(), fill_value=0)
    )
    assert (counted.reindex(g.index).to_numpy() == g["households"].to_numpy()).all()
    assert result.assignments[slab_at] in set(runs["grid_id"])


def test_cli_splits_by_units_and_says_which_grid_holds_which(cli, tmp_path):
    buildings, boundary, roads, _ = _with_slab()
    args = write_inputs(tmp_path, buildings, roads, boundary)
    r = cli(
        None,
        f"grids draw {' '.join(args)} --boundary {tmp_path / 's.geojson'} --units-field units --out {tmp_path / 'g.gpkg'} --assignments {tmp_path / 'a.gpkg'}",
    )
    assert r.exit_code == 0, r.output
    assert "单元 units 1–" in r.output
    assigned = gpd.read_file(tmp_path / "a.gpkg")
    slab = assigned.iloc[-1]
    runs = [run.split(":") for run in slab["unit_grids"].split()]
    assert [
        u for span, _ in runs for u in range(int(span.split("-")[0]), int(span.split("-")[1]) + 1)
    ] == list(range(1, 9))
    assert slab["grid_id"] in {gid for _, gid in runs}
    assert assigned["unit_grids"].iloc[:-1].isna().all()
    r = cli(None, "grids", "draw", "--community", "211103001001", "--units-field", "units")
    assert r.exit_code == 2 and "--units-field works on files" in r.output
