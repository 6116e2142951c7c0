"""Patrol routes over a road network: walk every required road and come back, with the least repetition.

* Required edges that form one connected piece containing the start: the route is optimal
  (the undirected Chinese postman: odd nodes paired by a minimum-weight perfect matching of
  shortest-path distances through the whole network, then an Euler circuit). Edges outside
  the area may be used to connect, which is still optimal for a connected required set.
* Required edges in several pieces (the rural postman, NP-hard): the pieces are joined by a
  minimum spanning tree of shortest paths before the matching (Frederickson's heuristic,
  at most 3/2 of the optimum when distances obey the triangle inequality, as walking ones do).
Pure: takes a ``RoadNetwork``, returns a ``Route``; no database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from geo.network import RoadNetwork, edge_geometry

WALK_KMH = 4.0

Edge = tuple[int, int, int]  # (u, v, key): an edge of the network, or an arc walked from u to v


class PatrolError(ValueError):
    """A route that cannot be planned: no required road, a start far from any road, a bad budget."""


@dataclass
class Route:
    """An ordered walk: ``edges`` are (u, v, key) in walking order; lengths in metres."""

    edges: list[Edge]
    required: set[Edge]
    length_m: float
    required_length_m: float
    deadhead_length_m: float
    duration_min: float
    optimal: bool
    steps: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    directed: bool = False  # required are arcs (u walked to v): each side of a street is its own arc
    extra: dict = field(default_factory=dict)  # what a kind of route adds to its report (hot-spot stops)

    def required_of(self, edges: list[Edge]) -> set[Edge]:
        """The required edges (or arcs) among ``edges`` as walked."""
        walked = set(edges) if self.directed else {edge_key(*e) for e in edges}
        return walked & self.required

    @classmethod
    def walking(
        cls,
        network: RoadNetwork,
        edges: list[Edge],
        required: set[Edge],
        minutes: Callable[[float], float],
        **report: Any,
    ) -> Route:
        """The route walking ``edges`` over ``network``: its lengths measured once, here, and its turn-by-turn
        steps; ``minutes`` turns the length walked (m) into the time it takes, stops included."""
        g = network.graph
        length = sum(g.edges[e]["length_m"] for e in edges)
        required_length = sum(g.edges[e]["length_m"] for e in required)
        route = cls(
            edges, required, length, required_length, length - required_length, minutes(length), **report
        )
        route.steps = steps(network, edges)
        return route


def edge_key(u: int, v: int, k: int) -> Edge:
    """An undirected edge's one name, whichever way it is walked."""
    return (u, v, k) if u <= v else (v, u, k)


def required_edges(
    network: RoadNetwork,
    area: shapely.Geometry | None = None,
    *,
    min_share: float = 0.5,
    margin_m: float = 20.0,
) -> set[Edge]:
    """Edges with at least ``min_share`` of their length within ``margin_m`` of ``area`` (WGS-84 polygon).

    The margin takes in the streets that bound a grid (grids are drawn along roads); no area: every edge.
    """
    if area is None:
        return {edge_key(u, v, k) for u, v, k in network.graph.edges(keys=True)}
    metric = network.metric(area).buffer(margin_m)
    keys, lines, tree = network.edge_lines()
    near = tree.query(metric, predicate="intersects")
    inside = shapely.length(shapely.intersection(lines[near], metric))
    return {edge_key(*keys[i]) for i, m in zip(near, inside, strict=True) if m >= min_share * lines[i].length}


def path_edges(g: nx.MultiGraph, path: list[int]) -> list[Edge]:
    """The shortest edge between each consecutive pair of a node path."""
    out = []
    for a, b in zip(path, path[1:], strict=False):
        k = min(g[a][b], key=lambda key: g[a][b][key]["length_m"])
        out.append((a, b, k))
    return out


def _check(required: set, speed_kmh: float) -> None:
    if not required:
        raise PatrolError("there is no road to walk in the area")
    if speed_kmh <= 0:
        raise PatrolError(f"walking speed must be positive, got {speed_kmh}")


def _joining_paths(graph: nx.MultiGraph | nx.MultiDiGraph, pieces: list[set[int]]) -> list[list[int]]:
    """Node paths that join the pieces: a minimum spanning tree over the shortest walks between them.

    One search from all pieces at once gives each node its nearest piece; a street whose ends fall to two
    pieces offers a link (its nearest walks joined), and a minimum spanning tree over these links is one over
    all shortest walks between pieces (Mehlhorn, 1988). On arcs the tree is chosen on the streets either
    way, and each link is then walked as the shortest walk its arcs allow."""
    ways = graph.to_undirected(as_view=True) if graph.is_directed() else graph
    piece_of = {n: i for i, piece in enumerate(pieces) for n in piece}
    lengths, paths = nx.multi_source_dijkstra(ways, set(piece_of), weight="length_m")
    links = nx.Graph()
    for u, v, metres in ways.edges(data="length_m"):
        if u in lengths and v in lengths and piece_of[paths[u][0]] != piece_of[paths[v][0]]:
            i, j = piece_of[paths[u][0]], piece_of[paths[v][0]]
            total = lengths[u] + metres + lengths[v]
            if not links.has_edge(i, j) or total < links[i][j]["weight"]:
                links.add_edge(i, j, weight=total, path=paths[u] + paths[v][::-1])
    tree = list(nx.minimum_spanning_edges(links, data=True))
    if len(tree) < len(pieces) - 1:
        raise PatrolError("some roads to walk cannot be reached from the others on this network")
    if not graph.is_directed():
        return [d["path"] for _i, _j, d in tree]
    return [_walk_between(graph, pieces[i], pieces[j]) for i, j, _d in tree]


def _walk_between(arcs: nx.MultiDiGraph, here: set[int], there: set[int]) -> list[int]:
    """The shortest walk along arcs from any node of ``here`` to any of ``there``."""
    lengths, paths = nx.multi_source_dijkstra(arcs, here, weight="length_m")
    end = min(sorted(there), key=lambda n: lengths.get(n, math.inf))
    if end not in lengths:
        raise PatrolError("some sides to walk cannot be reached from the others on this network")
    return paths[end]


def coverage_route(
    network: RoadNetwork, required: set[Edge], start: int, *, speed_kmh: float = WALK_KMH
) -> Route:
    """A closed walk from ``start`` over every required edge (see the module notes for optimality)."""
    g = network.graph
    _check(required, speed_kmh)
    walk = nx.MultiGraph()
    walk.add_node(start)
    for u, v, k in required:
        walk.add_edge(u, v, key=k, length_m=g.edges[u, v, k]["length_m"], base=(u, v, k))
    pieces = list(nx.connected_components(walk))
    optimal = len(pieces) == 1
    notes: list[str] = []
    if len(pieces) > 1:
        # Join the pieces: a spanning tree over the shortest walks between them.
        notes.append(
            f"the roads to walk are in {len(pieces)} pieces: joined by the shortest connections "
            "(heuristic, at most 3/2 of the optimum)"
        )
        for path in _joining_paths(g, pieces):
            for a, b, k in path_edges(g, path):
                walk.add_edge(a, b, length_m=g.edges[a, b, k]["length_m"], base=(a, b, k))
    odd = [n for n in walk.nodes if walk.degree(n) % 2]
    try:
        join = network.t_join(odd)
    except ValueError:
        raise PatrolError("some roads to walk cannot be reached from the others on this network") from None
    for x, y, k in join:
        walk.add_edge(x, y, length_m=g.edges[x, y, k]["length_m"], base=(x, y, k))
    circuit = list(nx.eulerian_circuit(walk, source=start, keys=True))
    # Each walked edge is a copy of a network edge: keep the network's key, in walking direction.
    edges = [(u, v, walk.edges[u, v, k]["base"][2]) for u, v, k in circuit]
    return _closed_route(network, edges, required, speed_kmh, optimal, notes)


def _closed_route(
    network: RoadNetwork,
    edges: list[Edge],
    required: set[Edge],
    speed_kmh: float,
    optimal: bool,
    notes: list[str],
    directed: bool = False,
) -> Route:
    """The route walking ``edges`` at ``speed_kmh``, with its lengths and turn-by-turn steps."""
    return Route.walking(
        network,
        edges,
        required,
        lambda metres: metres / 1000.0 / speed_kmh * 60.0,
        optimal=optimal,
        notes=notes,
        directed=directed,
    )


def both_sides(required: set[Edge]) -> set[Edge]:
    """Each required street as two arcs, one per side: walked up one side and back down the other."""
    return {a for u, v, k in required for a in ((u, v, k), (v, u, k))}


def directed_route(
    network: RoadNetwork,
    required: set[Edge],
    start: int,
    *,
    travel: set[Edge] | None = None,
    speed_kmh: float = WALK_KMH,
) -> Route:
    """A closed walk from ``start`` over every required arc (u walked towards v), the directed postman.

    ``travel`` are the arcs one may walk (default: every street either way). Nodes that more required arcs
    enter than leave are joined to those with the opposite surplus by a minimum-cost flow over shortest
    walks, then an Euler circuit is taken: optimal when the required arcs and ``start`` form one strongly
    connected piece. Pieces apart are joined there and back along shortest walks, and the route says so.
    """
    g = network.graph
    _check(required, speed_kmh)
    arcs = _walkable_arcs(g, travel)
    walk = nx.MultiDiGraph()
    walk.add_node(start)
    for u, v, k in required:
        walk.add_edge(u, v, length_m=g.edges[u, v, k]["length_m"], base=k)
    notes: list[str] = []
    pieces = list(nx.weakly_connected_components(walk))
    if len(pieces) > 1:
        notes.append(
            f"the sides to walk are in {len(pieces)} pieces: joined there and back by the shortest walks "
            "(heuristic)"
        )
        for there in _joining_paths(arcs, pieces):
            _add_path(walk, arcs, there)
            _add_path(walk, arcs, _walk_between(arcs, {there[-1]}, {there[0]}))
    _balance_arcs(walk, arcs)
    if not nx.is_strongly_connected(walk):
        raise PatrolError("the sides to walk cannot all be reached and left again on this network")
    circuit = list(nx.eulerian_circuit(walk, source=start, keys=True))
    edges = [(u, v, walk.edges[u, v, k]["base"]) for u, v, k in circuit]
    return _closed_route(network, edges, set(required), speed_kmh, len(pieces) == 1, notes, directed=True)


def _walkable_arcs(g: nx.MultiGraph, travel: set[Edge] | None) -> nx.MultiDiGraph:
    """The arcs one may walk, the shortest from each node to each neighbour (default: every street either
    way); each keeps the network edge's key as ``base``."""
    arcs = nx.MultiDiGraph()
    for u, v, k in travel if travel is not None else both_sides({edge_key(*e) for e in g.edges(keys=True)}):
        length = g.edges[u, v, k]["length_m"]
        if not arcs.has_edge(u, v) or length < min(d["length_m"] for d in arcs[u][v].values()):
            arcs.add_edge(u, v, key=0, length_m=length, base=k)
    return arcs


def _add_path(walk: nx.MultiDiGraph, arcs: nx.MultiDiGraph, path: list[int]) -> None:
    """Walk a node path once more, along ``arcs``."""
    for a, b in zip(path, path[1:], strict=False):
        walk.add_edge(a, b, length_m=arcs[a][b][0]["length_m"], base=arcs[a][b][0]["base"])


def _balance_arcs(walk: nx.MultiDiGraph, arcs: nx.MultiDiGraph) -> None:
    """Walk arcs again until each node is left as often as it is entered: the least metres that carry each
    node's surplus of arcs in to the nodes with more arcs out, a minimum-cost flow on the sparse arcs
    themselves (no shortest walks between every pair), with HiGHS's simplex; a network's flow problem has
    whole-number vertices, so the times each arc is walked again come out whole."""
    surplus = {n: walk.in_degree(n) - walk.out_degree(n) for n in walk.nodes}
    if not any(surplus.values()):
        return
    nodes = list(arcs.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    if any(s and n not in index for n, s in surplus.items()):
        raise PatrolError("a one-way street leads where the walk cannot come back from")
    ends = [(u, v, d) for u, v, d in arcs.edges(data=True)]
    tail = [index[u] for u, _v, _d in ends]
    head = [index[v] for _u, v, _d in ends]
    cols = np.arange(len(ends))
    # Row n: flow out of n minus flow into n equals what n must send on (its surplus of arcs in).
    net = csr_matrix(
        (np.r_[np.ones(len(ends)), -np.ones(len(ends))], (np.r_[tail, head], np.r_[cols, cols])),
        shape=(len(nodes), len(ends)),
    )
    supply = np.array([surplus.get(n, 0) for n in nodes], dtype=float)
    cost = np.array([d["length_m"] for _u, _v, d in ends])
    found = linprog(cost, A_eq=net, b_eq=supply, bounds=(0, None), method="highs-ds")
    if found.status != 0:
        raise PatrolError("a one-way street leads where the walk cannot come back from")
    for (u, v, d), times in zip(ends, np.rint(found.x).astype(int), strict=True):
        for _ in range(times):
            walk.add_edge(u, v, length_m=d["length_m"], base=d["base"])


def _bearing(line: shapely.LineString) -> tuple[float, float]:
    (x0, y0), (x1, y1) = line.coords[0], line.coords[1]
    (x2, y2), (x3, y3) = line.coords[-2], line.coords[-1]
    return math.atan2(y1 - y0, x1 - x0), math.atan2(y3 - y2, x3 - x2)


def _turn(before: float, after: float) -> str:
    delta = math.degrees((after - before + math.pi) % (2 * math.pi) - math.pi)
    if abs(delta) < 30:
        return "直行 straight on"
    if abs(delta) > 150:
        return "掉头 turn back"
    return "左转 turn left" if delta > 0 else "右转 turn right"


def steps(network: RoadNetwork, edges: list[Edge]) -> list[dict]:
    """Turn-by-turn: consecutive edges on the same road make one step."""
    out: list[dict] = []
    last_heading = None
    for u, v, k in edges:
        line = edge_geometry(network, u, v, k)
        name = network.graph.edges[u, v, k]["name"] or "无名路 unnamed road"
        head, tail = _bearing(line)
        data = network.graph.edges[u, v, k]
        if out and out[-1]["road"] == name:
            out[-1]["length_m"] += line.length
        else:
            turn = "出发 start" if last_heading is None else _turn(last_heading, head)
            out.append({"turn": turn, "road": name, "length_m": line.length, "segments": [], "grids": []})
        # Which responsible segments and grids the step walks (when the network is labelled).
        if data.get("segment") and data["segment"] not in out[-1]["segments"]:
            out[-1]["segments"].append(data["segment"])
        out[-1]["grids"] += [gid for gid in data.get("grids", []) if gid not in out[-1]["grids"]]
        last_heading = tail
    for s in out:
        s["length_m"] = round(s["length_m"], 1)
        s["text"] = (
            f"{s['turn']}，沿{s['road']}走 {s['length_m']:.0f} 米 / along {s['road']} for {s['length_m']:.0f} m"
        )
    return out


def walk_line(network: RoadNetwork, route: Route) -> shapely.LineString:
    """The walk as one metric line (consecutive edges really join)."""
    coords: list[tuple[float, float]] = []
    for u, v, k in route.edges:
        part = list(edge_geometry(network, u, v, k).coords)
        coords += part if not coords else part[1:]
    return shapely.LineString(coords)


def route_line(network: RoadNetwork, route: Route) -> shapely.LineString:
    """The walk as one WGS-84 line."""
    return gpd.GeoSeries([walk_line(network, route)], crs=network.epsg).to_crs(4326).iloc[0]


def route_feature(network: RoadNetwork, route: Route) -> dict:
    """The route as a GeoJSON Feature with its figures and steps."""
    return {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(route_line(network, route)),
        "properties": {
            "length_m": round(route.length_m, 1),
            "duration_min": round(route.duration_min, 1),
            "required_length_m": round(route.required_length_m, 1),
            "deadhead_length_m": round(route.deadhead_length_m, 1),
            "optimal": route.optimal,
            "edges": len(route.edges),
            "steps": route.steps,
            "notes": route.notes,
            **route.extra,
        },
    }


def covered(route: Route) -> bool:
    """Every required edge (or side) is walked, and each edge starts where the previous one ended."""
    walked = set(route.edges) if route.directed else {edge_key(*e) for e in route.edges}
    joined = all(a[1] == b[0] for a, b in zip(route.edges, route.edges[1:], strict=False))
    closed = bool(route.edges) and route.edges[0][0] == route.edges[-1][1]
    return route.required <= walked and joined and closed


def split_route(network: RoadNetwork, route: Route, k: int, depot: int) -> list[Route]:
    """Share one route among ``k`` patrollers, each leaving from and returning to ``depot``.

    Route first, cluster second (Frederickson, Hecht and Kim): the single tour is cut into k
    consecutive stretches, each walked from the depot and back; the cuts are the ones that make
    the longest walk shortest, found by a binary search over that length with a greedy cut.
    """
    if k < 1:
        raise PatrolError(f"patrollers must be 1 or more, got {k}")
    if k == 1:
        return [route]
    g = network.graph
    dist, paths = nx.single_source_dijkstra(g, depot, weight="length_m")
    bounds = [0, *_cuts(route, [g.edges[e]["length_m"] for e in route.edges], dist, k), len(route.edges)]
    routes: list[Route] = []
    seen: set[Edge] = set()
    for a, b in zip(bounds, bounds[1:], strict=False):
        piece = route.edges[a:b]
        there = path_edges(g, paths[piece[0][0]])
        back = [(y, x, kk) for x, y, kk in reversed(path_edges(g, paths[piece[-1][1]]))]
        edges = there + piece + back
        # A road the tour walks twice belongs to the first patroller who walks it.
        walked = route.required_of(piece) - seen
        seen |= walked
        sub = Route.walking(
            network,
            edges,
            walked,
            lambda metres: route.duration_min * metres / route.length_m,
            optimal=False,
            notes=[f"patroller {len(routes) + 1} of {k}"],
            directed=route.directed,
        )
        routes.append(sub)
    return routes


def _cuts(route: Route, lengths: list[float], dist: dict[int, float], k: int) -> list[int]:
    """Where to cut the route into at most ``k`` stretches so that the longest walk from the depot (at
    ``dist``), along a stretch and back is shortest: a binary search over that length with a greedy cut."""

    def cuts(bound: float) -> list[int] | None:
        out, start, walked = [], 0, 0.0
        for i, (u, v, _k) in enumerate(route.edges):
            first = route.edges[start][0]
            if walked and dist[first] + walked + lengths[i] + dist[v] > bound:
                out.append(i)
                start, walked = i, 0.0
                if dist[u] + lengths[i] + dist[v] > bound:
                    return None
            walked += lengths[i]
        return out if len(out) < k else None

    lo, hi = max(lengths), route.length_m + 2 * max(dist.values())
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if cuts(mid) is not None else (mid, hi)
    found = cuts(hi)
    assert found is not None  # hi starts as a length every walk keeps to, and moves only to such lengths
    return found


def balance(routes: list[Route]) -> float:
    """Longest route ÷ (total ÷ k): 1.0 is a perfectly even share."""
    total = sum(r.length_m for r in routes)
    return max(r.length_m for r in routes) / (total / len(routes)) if total else 1.0
