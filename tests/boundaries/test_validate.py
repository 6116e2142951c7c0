"""`wangge validate` finds what breaks a hierarchy, with locations, and exits non-zero on errors."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import shapely
from shapely.affinity import translate

from boundaries.demo import write_district
from boundaries.validate import ERROR, WARNING, Tolerances, validate_hierarchy


def broken(demo_layers):
    d = {k: v.copy() for k, v in demo_layers.items()}
    grids = d["grids"]
    # 1. a grid pushed 30 m east: sticks out, overlaps its neighbour, leaves a gap behind.
    g0 = grids.index[0]
    grids.loc[g0, "geometry"] = translate(grids.geometry[g0], xoff=0.0004)
    # 2. a building straddling two grids
    b = d["buildings"]
    shared = next(
        e
        for i in range(1, len(grids))
        for j in range(i + 1, len(grids))
        if (
            e := shapely.intersection(grids.geometry.iloc[i].boundary, grids.geometry.iloc[j].boundary)
        ).length
        > 1e-4
    )
    piece = max(getattr(shared, "geoms", [shared]), key=lambda g: g.length)
    mid = piece.interpolate(0.5, normalized=True)
    b.loc[b.index[0], "geometry"] = shapely.MultiPolygon([mid.buffer(0.0001, cap_style="square")])
    # 3. a segment with nobody, 4. a duplicate id
    people = d["people"]
    d["people"] = people[people["segment_id"] != d["road_segments"]["id"].iloc[0]]
    d["roads"] = pd.concat([d["roads"], d["roads"].iloc[[0]]])
    return d


def test_the_demo_district_has_no_errors(demo_layers):
    findings = validate_hierarchy(demo_layers, Tolerances())
    assert [f for f in findings if f.severity == ERROR] == []
    # Zhenxing's 28,000 households over 64 grids are 437 a grid: the band check says so.
    assert any(f.check == "households_band" and f.severity == WARNING for f in findings)


def test_each_kind_of_problem_is_found_with_a_location(demo_layers):
    findings = validate_hierarchy(broken(demo_layers), Tolerances())
    checks = {f.check for f in findings}
    assert {
        "outside_parent",
        "overlap",
        "gap",
        "building_across_grids",
        "segment_without_chief",
        "duplicate_id",
    } <= checks
    for f in findings:
        if f.check in ("outside_parent", "overlap", "gap", "building_across_grids"):
            d = f.as_dict()
            assert d["lon"] and abs(d["lon"] - 122.07) < 0.02 and abs(d["lat"] - 41.12) < 0.02
    overlap = next(f for f in findings if f.check == "overlap")
    assert "m²" in overlap.detail


def test_tolerance_in_metres_hides_slivers(demo_layers):
    d = {k: v.copy() for k, v in demo_layers.items()}
    g = d["grids"]
    # a 5 cm shift is noise at 0.5 m, a real overlap at 1 cm
    g.loc[g.index[0], "geometry"] = translate(g.geometry.iloc[0], xoff=0.05 / 84_000)
    assert not any(f.check == "overlap" for f in validate_hierarchy(d, Tolerances(topology_m=0.5)))
    assert any(f.check == "overlap" for f in validate_hierarchy(d, Tolerances(topology_m=0.01)))


def test_cli_on_a_file_prints_a_table_json_and_geojson(cli, tmp_path, demo_layers):
    path = write_district(broken(demo_layers), tmp_path)
    out = tmp_path / "problems.geojson"
    r = cli(None, "validate", "--hierarchy", str(path), "--geojson", str(out))
    assert r.exit_code == 1
    assert "overlap" in r.output and "error(s)" in r.output
    fc = json.loads(out.read_text())
    assert fc["type"] == "FeatureCollection" and any(
        f["properties"]["check"] == "gap" for f in fc["features"]
    )
    assert gpd.GeoDataFrame.from_features(fc["features"]).geometry.notna().any()
    r = cli(None, "validate", "--hierarchy", str(path), "--json")
    assert any(f["check"] == "building_across_grids" for f in json.loads(r.output))


def test_cli_on_the_database_passes_unless_strict(cli, district_url):
    r = cli(district_url, "validate")
    assert r.exit_code == 0, r.output
    assert "0 error(s)" in r.output
    r = cli(district_url, "validate", "--strict")
    assert r.exit_code == 1
    # A band wide enough for every demo grid (168 to 651 households): 164 to 656.
    r = cli(district_url, "validate", "--households-target", "410", "--households-tolerance", "0.6")
    assert "0 error(s), 0 warning(s)" in r.output
