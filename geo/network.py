"""A walkable road network from road lines: noded at every crossing, lengths in metres.

Lines are noded where they cross (a digitised road rarely stops at the junction vertex),
end points closer than ``snap_m`` become one node, and each edge remembers its road name.
What cannot be walked into the rest (separate pieces) and digitising stubs (dead ends
shorter than ``stub_m``) are reported, not dropped: a patrol planner must say what it
could not reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix, csc_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from geo.coords import utm_epsg


class NetworkError(ValueError):
    """Lines that make no network (none at all, or not lines)."""


@dataclass
class RoadNetwork:
    """An undirected multigraph; nodes carry metric ``xy``, edges ``length_m``, ``name`` and metric ``geometry``."""

    graph: nx.MultiGraph
    epsg: int
    report: dict = field(default_factory=dict)
    # Built from the graph when first asked for, again if the graph has changed size since.
    _built: dict = field(default_factory=dict, repr=False, compare=False)

    def _fresh(self, name: str, build: Callable[[], Any]) -> Any:
        """What ``build`` makes of the graph, kept while the graph keeps its nodes (a graph whose edges change
        under the same nodes needs a new ``RoadNetwork``)."""
        size = self.graph.number_of_nodes()
        if name not in self._built or self._built[name][0] != size:
            self._built[name] = (size, build())
        return self._built[name][1]

    def metric(self, geometry: shapely.Geometry) -> shapely.Geometry:
        """A WGS-84 geometry in the network's metric CRS (one transformer per network)."""
        to_metric = self._fresh("crs", lambda: Transformer.from_crs(4326, self.epsg, always_xy=True))
        return shapely.transform(
            geometry, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1]))
        )

    def t_join(self, odd: Iterable[int]) -> list[tuple[int, int, int]]:
        """The minimum T-join of ``odd`` (see ``TJoin``), over a matching graph built once per network."""
        join: TJoin = self._fresh("t_join", lambda: TJoin(self.graph))
        return join(odd)

    def edge_lines(self) -> tuple[list[tuple[int, int, int]], np.ndarray, shapely.STRtree]:
        """Every edge (u, v, key), its metric line, and a tree of the lines (built once per network)."""

        def build() -> tuple[list[tuple[int, int, int]], np.ndarray, shapely.STRtree]:
            keys = list(self.graph.edges(keys=True))
            lines = np.array([self.graph.edges[e]["geometry"] for e in keys], dtype=object)
            return keys, lines, shapely.STRtree(lines)

        return self._fresh("lines", build)

    def nearest_node(self, lon: float, lat: float) -> tuple[int, float]:
        """The node nearest a WGS-84 point, and how far it is in metres."""
        p = self.metric(shapely.Point(lon, lat))
        nodes = list(self.graph.nodes)
        xy = np.array([self.graph.nodes[n]["xy"] for n in nodes])
        d = np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y)
        i = int(np.argmin(d))
        return nodes[i], float(d[i])


def build_network(
    roads: gpd.GeoDataFrame, *, name_field: str = "name", snap_m: float = 1.0, stub_m: float = 5.0
) -> RoadNetwork:
    """Node the lines and build the graph (in the area's UTM zone)."""
    _check_lines(roads)
    centre = roads.to_crs(4326).union_all().centroid
    epsg = utm_epsg(centre.x, centre.y)
    metric = roads.to_crs(epsg)
    names = (
        metric[name_field].astype(str).to_numpy()
        if name_field in metric.columns
        else np.array([""] * len(metric))
    )
    sources = metric.geometry.values
    pieces = _noded(sources, snap_m)
    tree = shapely.STRtree(sources)
    graph = nx.MultiGraph()
    lines = np.array(pieces, dtype=object)
    ends = shapely.get_coordinates(
        np.column_stack([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    )
    node_of = _cluster(ends, snap_m)
    count = np.bincount(node_of)
    mean = np.column_stack([np.bincount(node_of, weights=ends[:, i]) / count for i in (0, 1)])
    graph.add_nodes_from((int(n), {"xy": (float(x), float(y))}) for n, (x, y) in enumerate(mean))
    # Each piece keeps the name of the source line nearest its middle.
    source = tree.query_nearest(
        shapely.line_interpolate_point(lines, 0.5, normalized=True), all_matches=False
    )[1]
    length = shapely.length(lines)
    for i, piece in enumerate(pieces):
        u, v = int(node_of[2 * i]), int(node_of[2 * i + 1])
        if u == v and length[i] < snap_m:
            continue
        graph.add_edge(u, v, length_m=float(length[i]), name=str(names[source[i]]), geometry=piece)
    return RoadNetwork(graph, epsg, _report(graph, stub_m))


def _check_lines(roads: gpd.GeoDataFrame | None) -> None:
    if roads is None or len(roads) == 0:
        raise NetworkError("no road lines given")
    if roads.crs is None:
        raise NetworkError("road lines have no CRS; say what their coordinates are")
    kinds = set(roads.geometry.geom_type)
    if not kinds <= {"LineString", "MultiLineString"}:
        raise NetworkError(
            f"roads must be lines, found {', '.join(sorted(kinds - {'LineString', 'MultiLineString'}))}"
        )


def _noded(sources: np.ndarray, snap_m: float) -> list[LineString]:
    """The lines cut at every crossing into pieces of some length.

    A road that stops just short of (or just past) another still meets it: each loose end is joined to the
    nearest line within ``snap_m`` with a tiny connector, so noding splits that line there.
    """
    parts = shapely.get_parts(sources)
    ends = shapely.points(
        np.concatenate(
            [
                shapely.get_coordinates(shapely.get_point(parts, 0)),
                shapely.get_coordinates(shapely.get_point(parts, -1)),
            ]
        )
    )
    owner = np.concatenate([np.arange(len(parts))] * 2)
    pi, li = shapely.STRtree(parts).query(ends, predicate="dwithin", distance=snap_m)
    keep = (owner[pi] != li) & (shapely.distance(ends[pi], parts[li]) > 0)
    connectors = shapely.shortest_line(ends[pi[keep]], parts[li[keep]])
    noded = shapely.get_parts(shapely.node(shapely.union_all(np.concatenate([parts, connectors]))))
    return [shapely.LineString(p) for p in noded if p.length > 0]


def _report(graph: nx.MultiGraph, stub_m: float) -> dict:
    """The network's size, and what a planner cannot reach: pieces apart from the largest, dead ends, and
    digitising stubs (dead ends shorter than ``stub_m``)."""
    components = sorted(
        nx.connected_components(graph),
        key=lambda c: -sum(d["length_m"] for _, _, d in graph.subgraph(c).edges(data=True)),
    )
    stubs = [
        (u, v)
        for u, v, d in graph.edges(data=True)
        if d["length_m"] < stub_m and (graph.degree(u) == 1 or graph.degree(v) == 1)
    ]
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "length_m": round(sum(d["length_m"] for _, _, d in graph.edges(data=True)), 1),
        "components": len(components),
        "detached_length_m": round(
            sum(d["length_m"] for c in components[1:] for _, _, d in graph.subgraph(c).edges(data=True)), 1
        ),
        "dead_ends": sum(1 for n in graph.nodes if graph.degree(n) == 1),
        "stubs": len(stubs),
    }


def _cluster(points: np.ndarray, within: float) -> np.ndarray:
    """A node number per point: points closer than ``within`` (directly or through each other) share one."""
    pairs = cKDTree(points).query_pairs(within, output_type="ndarray")
    joined = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points), len(points)))
    # Numbered in order of each piece's first point, as a walk over the points in order would meet them.
    return connected_components(joined, directed=False)[1].astype(np.int64)


def edge_geometry(network: RoadNetwork, u: int, v: int, key: int) -> LineString:
    """The edge's metric line, drawn from ``u`` to ``v``."""
    line = network.graph.edges[u, v, key]["geometry"]
    start = np.array(line.coords[0])
    if np.hypot(*(start - np.array(network.graph.nodes[u]["xy"]))) > np.hypot(
        *(np.array(line.coords[-1]) - np.array(network.graph.nodes[u]["xy"]))
    ):
        return shapely.reverse(line)
    return line


def label_edges(
    network: RoadNetwork,
    *,
    grids: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    segments: gpd.GeoDataFrame | None = None,
    within_m: float = 20.0,
) -> None:
    """Give each edge the ``grids`` and ``communities`` it serves (within ``within_m``: a street on a boundary
    serves both sides) and the responsible ``segment`` it runs along (most shared length within 5 m).

    Frames are WGS-84 with an ``id`` column; edges keep empty lists or None where nothing is near.
    """
    g = network.graph
    keys = list(g.edges(keys=True))
    lines = np.array([g.edges[e]["geometry"] for e in keys], dtype=object)
    for attr, frame in (("grids", grids), ("communities", communities)):
        found: list[list[str]] = [[] for _ in keys]
        if frame is not None and len(frame):
            polys = frame.to_crs(network.epsg)
            li, pi = shapely.STRtree(polys.geometry.values).query(
                lines, predicate="dwithin", distance=within_m
            )
            ids = polys["id"].astype(str).to_numpy()
            for line, poly in zip(li, pi, strict=True):
                found[line].append(ids[poly])
        for e, names in zip(keys, found, strict=True):
            g.edges[e][attr] = sorted(set(names))
    best: list[tuple[float, str | None]] = [(0.0, None)] * len(keys)
    if segments is not None and len(segments):
        segs = segments.to_crs(network.epsg)
        li, si = shapely.STRtree(segs.geometry.values).query(lines, predicate="dwithin", distance=5.0)
        shared = shapely.length(
            shapely.intersection(lines[li], shapely.buffer(segs.geometry.values[si], 5.0))
        )
        ids = segs["id"].astype(str).to_numpy()
        for line, seg, length in zip(li, si, shared, strict=True):
            if length > max(best[line][0], 0.5 * shapely.length(lines[line])):
                best[line] = (float(length), ids[seg])
    for e, (_, seg) in zip(keys, best, strict=True):
        g.edges[e]["segment"] = seg


class TJoin:
    """A road graph as PyMatching's matching graph, built once and then asked for the minimum T-join of any
    set of odd junctions (a district plans each of its grids over its street's one network).

    The minimum T-join is the shortest set of edges in which exactly the odd nodes have an odd number of
    ends. Walking each of them once more makes every junction even, and it is the Chinese postman's optimum
    (Edmonds and Johnson): the minimum-weight perfect matching of the odd nodes over shortest walking
    distances, solved here on the sparse road graph itself by PyMatching's sparse blossom rather than on
    the dense graph of all pairs (seconds, not minutes, for thousands of junctions). PyMatching rounds
    weights to steps of the longest edge ÷ 2**23 (0.1 mm for a 1 km edge), so the join is the optimum to
    within that step per edge.
    """

    def __init__(self, graph: nx.MultiGraph) -> None:
        self.nodes = np.sort(np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes()))
        rows = list(graph.edges(keys=True, data="length_m"))
        a, b = (np.searchsorted(self.nodes, [r[i] for r in rows]) for i in (0, 1))
        a, b = np.minimum(a, b), np.maximum(a, b)
        length = np.array([r[3] for r in rows], dtype=float)
        # One column per pair of junctions, the shortest of parallel streets; a loop changes no parity.
        order = np.lexsort((length, b, a))
        first = np.ones(len(order), dtype=bool)
        first[1:] = (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])
        cols = order[first & (a[order] != b[order])]
        ends = np.concatenate([a[cols], b[cols]])
        at = np.tile(np.arange(len(cols)), 2)
        shape = (len(self.nodes), len(cols))
        matrix = csc_matrix((np.ones(len(ends), dtype=np.uint8), (ends, at)), shape=shape)
        self.edges = [rows[c][:3] for c in cols]
        import pymatching  # here, not at the top: it loads matplotlib, a third of a second every map doesn't need

        self.matching = (
            pymatching.Matching.from_check_matrix(matrix, weights=length[cols]) if len(cols) else None
        )

    def __call__(self, odd: Iterable[int]) -> list[tuple[int, int, int]]:
        """The edges (u, v, key) of the minimum T-join of ``odd``. Raises ``ValueError`` when some piece of
        the graph holds an odd number of them (they cannot all be paired)."""
        wanted = sorted(set(odd))
        if not wanted:
            return []
        if self.matching is None:
            raise ValueError("no edge joins the odd nodes")
        syndrome = np.zeros(len(self.nodes), dtype=np.uint8)
        syndrome[np.searchsorted(self.nodes, wanted)] = 1
        return [self.edges[c] for c in np.flatnonzero(self.matching.decode(syndrome))]
