"""Patrol routes: the postman's optimum where it is polynomial, real connections, GPX and GeoJSON out."""

from __future__ import annotations

import json

import geopandas as gpd
import gpxpy
import networkx as nx
import numpy as np
import pytest
import shapely
from sqlalchemy import text

from core.errors import Unprocessable
from core.patrols import plan
from geo.network import build_network
from geo.patrol import both_sides, coverage_route, covered, directed_route, required_edges

E0, N0 = 600_000, 4_552_000


def lattice(gap: float = 0.0, extra: list | None = None) -> gpd.GeoDataFrame:
    """Two by two blocks of 100 m; ``gap`` leaves each east-west street short of the east edge."""
    lines = []
    for i in range(3):
        lines.append(
            shapely.LineString([(E0, N0 + 100 * i), (E0 + 200 - (gap if i == 1 else 0), N0 + 100 * i)])
        )
        lines.append(shapely.LineString([(E0 + 100 * i, N0), (E0 + 100 * i, N0 + 200)]))
    lines += extra or []
    return gpd.GeoDataFrame(
        {"name": [f"第{i}路" for i in range(len(lines))]}, geometry=lines, crs=32651
    ).to_crs(4326)


def test_a_lattice_is_walked_in_the_postmans_optimum():
    network = build_network(lattice())
    assert network.report == {
        "nodes": 9,
        "edges": 12,
        "length_m": 1200.0,
        "components": 1,
        "detached_length_m": 0,
        "dead_ends": 0,
        "stubs": 0,
    }
    centre, _ = network.nearest_node(*lattice().union_all().centroid.coords[0])
    route = coverage_route(network, required_edges(network), centre)
    # Four odd junctions (the middle of each side), paired at 200 m each: 1,200 + 400 m, and no shorter walk exists.
    assert route.length_m == pytest.approx(1600, abs=0.01) and route.deadhead_length_m == pytest.approx(
        400, abs=0.01
    )
    assert route.optimal and covered(route)
    assert route.edges[0][0] == centre and route.edges[-1][1] == centre
    assert route.duration_min == pytest.approx(1.6 / 4 * 60)


def test_an_undershooting_street_still_meets_the_cross_street():
    network = build_network(lattice(gap=0.4))
    assert network.report["edges"] == 12 and network.report["dead_ends"] == 0


def test_pieces_apart_are_joined_and_reported():
    far = shapely.LineString([(E0 + 600, N0), (E0 + 700, N0)])
    network = build_network(lattice(extra=[far]))
    assert network.report["components"] == 2 and network.report["detached_length_m"] == pytest.approx(
        100, abs=0.01
    )
    # Two separate streets of one piece to walk, joined through the lattice: the rural postman's heuristic.
    area = (
        gpd.GeoSeries(
            [
                shapely.box(E0 - 5, N0 - 5, E0 + 105, N0 + 5).union(
                    shapely.box(E0 + 95, N0 + 195, E0 + 205, N0 + 205)
                )
            ],
            crs=32651,
        )
        .to_crs(4326)
        .iloc[0]
    )
    required = required_edges(network, area, margin_m=0)
    assert len(required) == 2
    start = next(iter(required))[0]
    route = coverage_route(network, required, start)
    assert covered(route) and not route.optimal and "pieces" in route.notes[0]
    # 100 + 100 walked, 200 up the middle street between them, and 400 home from the far corner.
    assert route.length_m == pytest.approx(800, abs=0.01)


def test_bad_plans_get_clear_errors():
    """The service refuses roads it cannot route with a 422 whose detail says why."""
    roads = lattice()
    with pytest.raises(Unprocessable, match="from the nearest road"):
        plan(roads, start=(122.5, 41.5))
    empty = gpd.GeoSeries([shapely.box(E0 + 5000, N0, E0 + 5100, N0 + 100)], crs=32651).to_crs(4326).iloc[0]
    with pytest.raises(Unprocessable, match="no roads in the area"):
        plan(roads, empty)
    with pytest.raises(Unprocessable, match="speed"):
        plan(roads, speed_kmh=0)
    with pytest.raises(Unprocessable, match="must be lines"):
        plan(gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(E0, N0)], crs=32651))


def test_cli_plans_a_demo_grid_from_files_and_from_the_database(cli, demo_layers, district_url, tmp_path):
    roads, grids = tmp_path / "roads.gpkg", tmp_path / "grid.geojson"
    demo_layers["roads"].to_file(roads, layer="roads")
    grid = demo_layers["grids"].iloc[[10]]
    grid.to_file(grids)
    out, gpx_out = tmp_path / "route.geojson", tmp_path / "route.gpx"
    r = cli(None, f"patrol plan --roads {roads} --area {grids} --out {out} --gpx {gpx_out}")
    assert r.exit_code == 0, r.output
    assert "出发 start" in r.output
    feature = json.loads(out.read_text(encoding="utf-8"))["features"][0]
    props = feature["properties"]
    assert {"length_m", "duration_min", "required_length_m", "deadhead_length_m", "steps"} <= set(props)
    assert props["length_m"] == pytest.approx(
        props["required_length_m"] + props["deadhead_length_m"], abs=0.2
    )
    line = shapely.geometry.shape(feature["geometry"])
    assert line.coords[0] == pytest.approx(line.coords[-1])  # a closed walk
    metres = gpd.GeoSeries([line], crs=4326).to_crs(32651).length.iloc[0]
    assert metres == pytest.approx(props["length_m"], rel=0.01)  # the line really is the route walked
    points = gpxpy.parse(gpx_out.read_text(encoding="utf-8")).tracks[0].segments[0].points
    assert len(points) == len(line.coords) and points[0].latitude == pytest.approx(line.coords[0][1])
    db_out = tmp_path / "db.geojson"
    r = cli(district_url, "patrol", "plan", "--grid", grid["id"].iloc[0], "--out", str(db_out))
    assert r.exit_code == 0, r.output
    assert (
        json.loads(db_out.read_text(encoding="utf-8"))["features"][0]["properties"]["required_length_m"] > 0
    )
    chief = demo_layers["people"].query("role == 'street_chief'").iloc[0]
    r = cli(district_url, "patrol", "plan", "--chief", chief["id"], "--out", str(db_out))
    assert r.exit_code == 0, r.output
    segment = demo_layers["road_segments"].set_index("id").geometry[chief["segment_id"]]
    walked = json.loads(db_out.read_text(encoding="utf-8"))["features"][0]["properties"]["required_length_m"]
    seg_m = gpd.GeoSeries([segment], crs=4326).to_crs(32651).length.iloc[0]
    assert 0.8 * seg_m <= walked <= 1.6 * seg_m  # the chief walks their segment (edges cut at junctions)
    bad = cli(district_url, "patrol", "plan", "--grid", "NOPE", "--out", str(db_out))
    assert bad.exit_code == 1 and "no current grid" in bad.output
    far = cli(None, "patrol", "plan", "--roads", str(roads), "--start", "100,20", "--out", str(db_out))
    assert far.exit_code == 1 and "from the nearest road" in far.output


def test_a_street_shared_among_patrollers_is_balanced(cli, district_url, tmp_path):
    out, gpx_out = tmp_path / "street.geojson", tmp_path / "street.gpx"
    r = cli(district_url, f"patrol plan --street 211103001 --patrollers 3 --out {out} --gpx {gpx_out}")
    assert r.exit_code == 0, r.output
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert len(collection["features"]) == 3 and collection["properties"]["balance"] < 1.15
    lines = [shapely.geometry.shape(f["geometry"]) for f in collection["features"]]
    assert len({line.coords[0] for line in lines}) == 1  # all leave from the same place
    assert all(line.coords[0] == pytest.approx(line.coords[-1]) for line in lines)  # and come back
    assert len(gpxpy.parse(gpx_out.read_text(encoding="utf-8")).tracks) == 3
    one = cli(district_url, "patrol", "plan", "--street", "211103001", "--out", str(out))
    single = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    # Every road is in some patroller's share: the shares' roads add up to the whole street's.
    assert sum(f["properties"]["required_length_m"] for f in collection["features"]) == pytest.approx(
        single["required_length_m"], rel=1e-6
    )
    assert one.exit_code == 0
    assert (
        cli(district_url, "patrol", "plan", "--street", "x", "--patrollers", "0", "--out", str(out)).exit_code
        == 1
    )


def test_patrol_api_plans_for_whom_it_may(world):
    grid = world.places[0]
    worker = world.user("网格员", "grid_worker", person=grid.worker_id)
    r = world.post("/api/v1/patrols/plan", worker, {"grid": grid.grid_id, "patrollers": 2})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert len(body["features"]) == 2 and body["properties"]["balance"] >= 1.0
    assert all(f["properties"]["steps"][0]["turn"] == "出发 start" for f in body["features"])
    other = world.places[20].grid_id
    assert world.post("/api/v1/patrols/plan", worker, {"grid": other}).status_code == 403
    assert world.post("/api/v1/patrols/plan", None, {"grid": other}).status_code == 401
    for payload, status, words in (
        ({"grid": "NOPE"}, 404, "no current grid"),
        ({"grid": grid.grid_id, "start": [0, 0]}, 422, "from the nearest road"),
        ({"grid": grid.grid_id, "start": "here"}, 400, "start: Input should be a valid tuple"),
        ({"grid": grid.grid_id, "speed_kmh": 0}, 400, "speed_kmh: Input should be greater than 0"),
        ({"grid": grid.grid_id, "street": world.street_id}, 422, "exactly one"),
        ({"grid": grid.grid_id, "color": 1}, 400, "unknown field"),
    ):
        r = world.post("/api/v1/patrols/plan", world.district, payload)
        assert r.status_code == status and words in r.get_json()["detail"], (payload, r.get_json())


# -- optimality against independent answers ------------------------------------------------------------


def _brute_force_postman(network) -> float:
    """The undirected postman's optimum by trying every pairing of odd junctions (small graphs only)."""
    g = network.graph
    odd = [n for n in g.nodes if g.degree(n) % 2]
    dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="length_m"))

    def best(nodes: tuple) -> float:
        if not nodes:
            return 0.0
        first, rest = nodes[0], nodes[1:]
        return min(dist[first][other] + best(rest[:i] + rest[i + 1 :]) for i, other in enumerate(rest))

    return sum(d["length_m"] for *_, d in g.edges(data=True)) + best(tuple(odd))


@pytest.mark.parametrize("seed", range(6))
def test_routes_equal_the_brute_force_optimum_on_small_random_networks(seed):
    rng = np.random.default_rng(seed)
    # A jittered 3 × 3 lattice with a few streets left out (kept connected) and a diagonal or two.
    pts = {
        (i, j): (E0 + 100 * i + rng.uniform(-20, 20), N0 + 100 * j + rng.uniform(-20, 20))
        for i in range(3)
        for j in range(3)
    }
    pairs = [((i, j), (i + 1, j)) for i in range(2) for j in range(3)] + [
        ((i, j), (i, j + 1)) for i in range(3) for j in range(2)
    ]
    pairs = [p for p in pairs if rng.random() > 0.2] + [((0, 0), (1, 1))] * int(rng.random() > 0.5)
    lines = gpd.GeoDataFrame(
        {"name": [f"路{i}" for i in range(len(pairs))]},
        geometry=[shapely.LineString([pts[a], pts[b]]) for a, b in pairs],
        crs=32651,
    )
    network = build_network(lines.to_crs(4326))
    biggest = max(nx.connected_components(network.graph), key=len)
    network.graph.remove_nodes_from([n for n in list(network.graph) if n not in biggest])
    route = coverage_route(network, required_edges(network), min(biggest))
    assert covered(route) and route.optimal
    assert route.length_m == pytest.approx(_brute_force_postman(network), abs=1e-6)


def _pgr_cost(conn, network, arcs: set) -> float:
    """pgRouting's directed postman on the same arcs: each street as cost and/or reverse cost."""
    rows = {}
    for u, v, k in arcs:
        a, b = min(u, v), max(u, v)
        row = rows.setdefault((a, b, k), [-1.0, -1.0])
        row[0 if (u, v) == (a, b) else 1] = network.graph.edges[u, v, k]["length_m"]
    conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS pgr_arcs (id int, source bigint, target bigint, cost float8, "
            "reverse_cost float8) ON COMMIT DROP"
        )
    )
    conn.execute(text("TRUNCATE pgr_arcs"))
    conn.execute(
        text("INSERT INTO pgr_arcs VALUES (:i, :a, :b, :c, :r)"),
        [{"i": i, "a": a, "b": b, "c": c, "r": r} for i, ((a, b, _), (c, r)) in enumerate(rows.items(), 1)],
    )
    return conn.execute(
        text("SELECT pgr_chinesePostmanCost('SELECT id, source, target, cost, reverse_cost FROM pgr_arcs')")
    ).scalar_one()


def test_both_sides_equals_pgrouting_on_a_lattice_and_on_the_demo_street(conn, demo_layers):
    for roads in (lattice(), demo_layers["roads"]):
        network = build_network(roads)
        required = both_sides(required_edges(network))
        start = min(network.graph)
        route = directed_route(network, required, start)
        assert covered(route) and route.optimal and route.directed
        # Both sides of every street: each arc once, nothing repeated, exactly twice the street length.
        assert route.length_m == pytest.approx(2 * network.report["length_m"], abs=0.5)
        assert route.length_m == pytest.approx(_pgr_cost(conn, network, required), abs=1e-6)


def test_one_way_streets_equal_pgrouting_and_beat_nothing(conn):
    """An unbalanced directed problem (some streets one way): the minimum-cost flow must match pgRouting."""
    network = build_network(lattice())

    def one_way(seed: int) -> set:
        rng, arcs = np.random.default_rng(seed), set()
        for u, v, k in sorted(required_edges(network)):
            choice = rng.integers(3)
            arcs |= {(u, v, k)} if choice == 0 else {(v, u, k)} if choice == 1 else {(u, v, k), (v, u, k)}
        return arcs

    # The first few seeds whose one-way streets still let one come back from everywhere.
    cases = [
        a for a in map(one_way, range(40)) if nx.is_strongly_connected(nx.DiGraph([(u, v) for u, v, _ in a]))
    ]
    assert len(cases) >= 3
    for arcs in cases[:3]:
        _one_way_case(conn, network, arcs)


def _one_way_case(conn, network, arcs: set) -> None:
    route = directed_route(network, arcs, min(network.graph), travel=arcs)
    assert covered(route) and set(route.edges) <= arcs
    assert route.length_m == pytest.approx(_pgr_cost(conn, network, arcs), abs=1e-6)
    assert route.length_m > sum(network.graph.edges[a]["length_m"] for a in arcs)  # it had to repeat some


def test_both_sides_through_the_cli_and_the_api(cli, district_url, tmp_path, world):
    out = tmp_path / "sides.geojson"
    r = cli(district_url, "patrol", "plan", "--street", "211103001", "--both-sides", "--out", str(out))
    assert r.exit_code == 0, r.output
    props = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert props["deadhead_length_m"] == pytest.approx(0, abs=0.5) and props["optimal"]
    grid = world.places[0]
    body = world.post(
        "/api/v1/patrols/plan", world.district, {"grid": grid.grid_id, "both_sides": True}
    ).get_json()
    one = world.post("/api/v1/patrols/plan", world.district, {"grid": grid.grid_id}).get_json()
    sides = body["features"][0]["properties"]
    assert sides["required_length_m"] == pytest.approx(
        2 * one["features"][0]["properties"]["required_length_m"], abs=0.2
    )


def test_edges_know_their_grids_communities_and_segment(district_url, demo_layers):
    from sqlalchemy import create_engine

    from core.patrols import area_inputs

    chief = demo_layers["people"].query("role == 'street_chief'").iloc[0]
    engine = create_engine(district_url)
    with engine.connect() as c:
        roads, area, labels = area_inputs(c, chief=chief["id"])
    engine.dispose()
    network, [route] = plan(roads, area, labels=labels)
    g = network.graph
    # Every edge of the street is labelled; one along a segment carries that segment, computed here from geometry.
    segs = demo_layers["road_segments"].to_crs(network.epsg).set_index("id").geometry
    for *_, d in g.edges(data=True):
        assert isinstance(d["grids"], list) and isinstance(d["communities"], list)
        if d["segment"]:
            assert d["geometry"].buffer(5.0).intersection(segs[d["segment"]]).length > 0.5 * d["length_m"]
    assert sum(1 for *_, d in g.edges(data=True) if d["segment"]) > 0.9 * g.number_of_edges()
    # The chief's route walks their own segment, and says so step by step.
    walked = {s for step in route.steps for s in step["segments"]}
    assert chief["segment_id"] in walked
    own = [step for step in route.steps if chief["segment_id"] in step["segments"]]
    assert sum(step["length_m"] for step in own) >= 0.8 * segs[chief["segment_id"]].length
    # A grid's own streets are labelled with that grid.
    grid = demo_layers["grids"].iloc[10]
    required = required_edges(network, grid.geometry)
    assert required and all(grid["id"] in g.edges[e]["grids"] for e in required)
