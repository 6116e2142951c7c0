"""Grids drawn and re-split on files, as a GIS analyst would: every property is computed from the files the
commands wrote (validity, one polygon each, no slivers, tiling, codes under their community, band)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from boundaries.load import ShapeRefused, write_frame

UTM51 = 32651
LO, HI = 450, 550


def assert_clean_grids(path, epsg: int = UTM51) -> gpd.GeoDataFrame:
    """The written grids as QGIS or PostGIS would judge them: each a valid single polygon, no ring under
    four points, no part or hole under 1 m²."""
    grids = gpd.read_file(path)
    for gid, geom in zip(grids["id"], grids.geometry, strict=True):
        assert shapely.is_valid(geom), (gid, shapely.is_valid_reason(geom))
        assert len(shapely.get_parts(geom)) == 1, gid
    metric = grids.to_crs(epsg)
    for gid, geom in zip(grids["id"], metric.geometry, strict=True):
        poly = shapely.get_parts(geom)[0]
        rings = [poly.exterior, *poly.interiors]
        assert min(len(r.coords) for r in rings) >= 4, gid
        assert min([poly.area] + [shapely.Polygon(r).area for r in poly.interiors]) >= 1.0, gid
    return grids


def assert_tiles(grids: gpd.GeoDataFrame, outline: shapely.Geometry, epsg: int = UTM51) -> None:
    metric = grids.to_crs(epsg).geometry.values
    union = shapely.union_all(metric)
    assert outline.symmetric_difference(union).area < 1.0
    assert shapely.area(metric).sum() - union.area < 1.0


@pytest.fixture(scope="module")
def demo_files(demo_layers, tmp_path_factory):
    """The demo's layers as separate files."""
    d = tmp_path_factory.mktemp("demo")
    for name in ("streets", "communities", "grids", "buildings", "roads"):
        demo_layers[name].to_file(d / f"{name}.geojson")
    return d


def test_the_demo_drawn_from_files_is_valid_and_tiles(cli, demo_files, demo_layers, tmp_path):
    d = demo_files
    out = tmp_path / "grids.geojson"
    r = cli(
        None,
        f"grids draw --buildings {d / 'buildings.geojson'} --boundary {d / 'streets.geojson'} "
        f"--roads {d / 'roads.geojson'} --out {out} --assignments {tmp_path / 'b.geojson'}",
    )
    assert r.exit_code == 0, r.output
    grids = assert_clean_grids(out)  # 36 of 57 were invalid: holes of 1e-11 m² between cells
    assert_tiles(grids, demo_layers["streets"].to_crs(UTM51).union_all())
    assigned = gpd.read_file(tmp_path / "b.geojson")
    hh = assigned.groupby("grid_id")["households"].sum()
    assert (hh.reindex(grids["id"]).to_numpy() == grids["households"].to_numpy()).all()


def _grown(buildings: gpd.GeoDataFrame, seed: int = 14) -> gpd.GeoDataFrame:
    """A year on: one building in four gains 10–40 % more households."""
    rng = np.random.default_rng(seed)
    later = buildings.copy()
    grown = rng.choice(len(later), size=len(later) // 4, replace=False)
    later.loc[later.index[grown], "households"] = (
        (later["households"].iloc[grown] * rng.uniform(1.1, 1.4, len(grown))).round().astype(int)
    )
    return later


def test_a_resplit_on_files_keeps_communities_and_makes_none_worse(cli, demo_files, demo_layers, tmp_path):
    d = demo_files
    later = _grown(demo_layers["buildings"])
    later.to_file(tmp_path / "later.geojson")
    out, assigned_path = tmp_path / "new.geojson", tmp_path / "assigned.geojson"
    r = cli(
        None,
        f"grids resplit --buildings {tmp_path / 'later.geojson'} --grids {d / 'grids.geojson'} "
        f"--roads {d / 'roads.geojson'} --out {out} --assignments {assigned_path}",
    )
    assert r.exit_code == 0, r.output
    grids = assert_clean_grids(out)
    assert_tiles(grids, demo_layers["streets"].to_crs(UTM51).union_all())
    assigned = gpd.read_file(assigned_path)
    old_grid = later["grid_id"].to_numpy()
    communities = demo_layers["communities"].set_index("id").to_crs(UTM51).geometry
    # The demo's grids are one polygon each, so nothing is mended and every community is judged.
    old = demo_layers["grids"]
    assert (shapely.get_num_geometries(old.geometry.values) == 1).all()
    assert "came in pieces" not in r.output
    for community, mine in assigned.assign(old=old_grid).groupby("community_id"):
        new_ids = set(mine["grid_id"])
        # Codes under the building's own community, and no grid across a community line.
        assert all(g.startswith(community) for g in new_ids), (community, new_ids)
        shapes = grids.set_index("id").to_crs(UTM51).geometry[sorted(new_ids)]
        assert (shapes.difference(communities[community].buffer(0.5)).area < 1.0).all()
        # No community worse: the share in band never falls, no grid in band is pushed out of it.
        before = mine.groupby("old")["households"].sum()
        after = mine.groupby("grid_id")["households"].sum()
        assert after.between(LO, HI).mean() >= before.between(LO, HI).mean() - 1e-9, community
        was_in = mine["old"].map(before.between(LO, HI))
        assert mine.loc[was_in.to_numpy(), "grid_id"].map(after.between(LO, HI)).all(), community
    assert set(grids["id"]) == set(assigned["grid_id"])


def test_a_bad_grid_is_refused_before_anything_is_written(tmp_path):
    square = shapely.box(122.0, 41.0, 122.001, 41.001)
    bowtie = shapely.Polygon([(122.002, 41.0), (122.003, 41.001), (122.003, 41.0), (122.002, 41.001)])
    two = shapely.MultiPolygon([square, shapely.box(122.004, 41.0, 122.005, 41.001)])
    sliver = shapely.box(122.006, 41.0, 122.006001, 41.000005)  # 0.08 × 0.55 m
    frame = gpd.GeoDataFrame(
        {"id": ["G1", "G2", "G3", "G4"]}, geometry=[square, bowtie, two, sliver], crs=4326
    )
    out = tmp_path / "grids.geojson"
    with pytest.raises(ShapeRefused) as refused:
        write_frame(frame, out, "grids", drawn=True)
    message = str(refused.value)
    assert "G2: 无效 invalid: Self-intersection" in message
    assert "G3: 多块 in 2 pieces" in message and "G4: 碎片 a sliver" in message and "G1" not in message
    assert not out.exists()
    write_frame(frame.iloc[[0, 2]], out, "grids")  # stored grids (an export) may come in pieces
    assert len(gpd.read_file(out)) == 2


@pytest.fixture(scope="module")
def district_gpkg(demo_layers, tmp_path_factory):
    """The demo as ``wangge demo`` writes it: one GeoPackage, a layer per level (streets first)."""
    path = tmp_path_factory.mktemp("district") / "district.gpkg"
    for name in ("streets", "communities", "grids", "buildings", "roads"):
        demo_layers[name].to_file(path, layer=name)
    return path


def test_layers_of_one_geopackage_are_chosen_by_name(cli, district_gpkg, demo_layers, tmp_path):
    d = district_gpkg
    out, assigned = tmp_path / "g.gpkg", tmp_path / "a.gpkg"
    r = cli(
        None,
        f"grids draw --buildings {d} --buildings-layer buildings --boundary {d} --boundary-layer communities "
        f"--roads {d} --roads-layer roads --out {out} --assignments {assigned}",
    )
    assert r.exit_code == 0, r.output
    grids = assert_clean_grids(out)
    assert_tiles(grids, demo_layers["communities"].to_crs(UTM51).union_all())
    # A boundary of several features with ids (communities) is drawn feature by feature: no grid crosses
    # between them, and each grid's code is its community's and a number.
    by_grid = gpd.read_file(assigned).groupby("grid_id")["community_id"]
    assert (by_grid.nunique() == 1).all()
    assert all(g.startswith(c) and len(g) == len(c) + 2 for g, c in by_grid.first().items())
    communities = demo_layers["communities"].set_index("id").to_crs(UTM51).geometry
    shapes = grids.set_index("id").to_crs(UTM51).geometry
    assert all(shapes[g].difference(communities[g[:-2]].buffer(0.5)).area < 1.0 for g in shapes.index)
    # Without the layer flags, each file is read for the layer named like it (not the first, streets).
    r = cli(None, f"grids resplit --buildings {d} --grids {d} --roads {d} --out {tmp_path / 'r.gpkg'}")
    assert r.exit_code == 0, r.output
    assert (
        gpd.read_file(tmp_path / "r.gpkg")["households"].sum() == demo_layers["buildings"]["households"].sum()
    )
    r = cli(None, f"grids draw --buildings {d} --buildings-layer houses --out {tmp_path / 'x.gpkg'}")
    assert r.exit_code == 2 and "has no layer 'houses'" in r.output


def test_buildings_outside_the_boundary_are_named_and_left_out_on_request(
    cli, district_gpkg, demo_layers, tmp_path
):
    d, two = district_gpkg, tmp_path / "two.geojson"
    communities = demo_layers["communities"]
    communities.iloc[:2].to_file(two)
    inside = demo_layers["buildings"]["community_id"].isin(communities["id"].iloc[:2])
    first_outside = demo_layers["buildings"].loc[~inside, "id"].iloc[0]
    r = cli(None, f"grids draw --buildings {d} --boundary {two} --out {tmp_path / 'g.gpkg'}")
    assert r.exit_code == 2 and f"{(~inside).sum()} 栋楼在边界外" in r.output and first_outside in r.output
    out, assigned = tmp_path / "g.gpkg", tmp_path / "a.gpkg"
    r = cli(
        None,
        f"grids draw --buildings {d} --boundary {two} --skip-outside --out {out} --assignments {assigned}",
    )
    assert r.exit_code == 0, r.output
    assert f"left out {(~inside).sum()} building(s)" in r.output and first_outside in r.output
    assert_tiles(assert_clean_grids(out), communities.iloc[:2].to_crs(UTM51).union_all())
    rows = gpd.read_file(assigned).set_index("id")["grid_id"]
    assert rows.reindex(demo_layers["buildings"].loc[~inside, "id"]).isna().all()
    assert rows.reindex(demo_layers["buildings"].loc[inside, "id"]).notna().all()


def test_without_a_boundary_it_is_derived_from_buildings_and_roads(cli, district_gpkg, demo_layers, tmp_path):
    d, out = district_gpkg, tmp_path / "g.gpkg"
    r = cli(None, f"grids draw --buildings {d} --roads {d} --out {out} --assignments {tmp_path / 'a.gpkg'}")
    assert r.exit_code == 0, r.output
    grids = assert_clean_grids(out)
    union = grids.to_crs(UTM51).union_all()
    footprints = demo_layers["buildings"].to_crs(UTM51)
    # The documented rule: the buildings' convex hull 30 m out, with every road-closed block holding a building.
    hull = footprints.union_all().convex_hull.buffer(30)
    assert union.covers(hull.buffer(-0.01)) and footprints.within(union.buffer(0.01)).all()
    assert gpd.read_file(tmp_path / "a.gpkg")["grid_id"].notna().all()
