"""Hot-spot patrols on a time budget: walk where incidents cluster, and stand a while at the worst places.

Hot-spot policing research (Koper's curve) finds that 10 to 15 minutes of presence at a hot spot deters
longest, so the route stops ``dwell_min`` at the top hot spots and spends the rest of the budget walking
the roads that carry most incident density. Density is a Gaussian kernel (``bandwidth_m``) of recent
incidents weighted by tier; an edge's weight is the density integrated along it. Choosing which roads
to walk in a budget is the prize-collecting (orienteering) arc routing problem, NP-hard: the route is
built by greedy insertion of the edge with the best weight per added metre, the classic heuristic,
and the report says what share of the weight it covered. Pure: arrays and a ``RoadNetwork`` in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo.network import RoadNetwork
from geo.patrol import WALK_KMH, Edge, PatrolError, Route, edge_key, path_edges
from geo.sampling import sample_lines

STEP_M = 10.0  # density is integrated along each edge at this spacing

Visit = tuple[int, int, int | None]  # a stop at a node (n, n, None) or an edge walked u→v (u, v, key)


@dataclass
class HotSpotPlan:
    """The route, where it stops, and how well it spends the budget."""

    route: Route
    dwell: list[dict]
    weight_share: float
    budget_share: float


def edge_weights(
    network: RoadNetwork, points: np.ndarray, weights: np.ndarray | None = None, *, bandwidth_m: float = 100.0
) -> dict[Edge, float]:
    """Kernel density of incidents (metric x, y) integrated along each edge (a uniform 1 per metre without any)."""
    g = network.graph
    keys = [edge_key(u, v, k) for u, v, k in g.edges(keys=True)]
    lines = np.array([g.edges[e]["geometry"] for e in keys], dtype=object)
    samples = sample_lines(lines, STEP_M)
    density = (
        density_at(samples.xy, points, weights, bandwidth_m=bandwidth_m)
        if len(points)
        else np.ones(len(samples.xy))
    )
    return dict(zip(keys, samples.per_line(density * samples.length).tolist(), strict=True))


def density_at(
    where: np.ndarray, points: np.ndarray, weights: np.ndarray | None = None, *, bandwidth_m: float = 100.0
) -> np.ndarray:
    """Gaussian kernel density (per m², weighted) at metric points, cut at three bandwidths."""
    weights = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=float)
    out = np.zeros(len(where))
    near = cKDTree(points).query_ball_point(where, 3 * bandwidth_m)
    for i, idx in enumerate(near):
        if idx:
            d2 = ((points[idx] - where[i]) ** 2).sum(axis=1)
            out[i] = (weights[idx] * np.exp(-d2 / (2 * bandwidth_m**2))).sum()
    return out / (2 * math.pi * bandwidth_m**2)


def hot_spots(
    network: RoadNetwork,
    nodes: list[int],
    points: np.ndarray,
    weights: np.ndarray | None,
    *,
    count: int,
    bandwidth_m: float,
) -> list[tuple[int, float]]:
    """The ``count`` junctions of ``nodes`` with the highest density, at least two bandwidths apart."""
    xy = np.array([network.graph.nodes[n]["xy"] for n in nodes])
    density = density_at(xy, points, weights, bandwidth_m=bandwidth_m)
    chosen: list[tuple[int, float]] = []
    for i in np.argsort(-density, kind="stable"):
        if density[i] <= 0 or len(chosen) == count:
            break
        if all(np.hypot(*(xy[i] - network.graph.nodes[n]["xy"])) >= 2 * bandwidth_m for n, _ in chosen):
            chosen.append((nodes[i], float(density[i])))
    return chosen


def hotspot_route(
    network: RoadNetwork,
    area_edges: set[Edge],
    start: int,
    budget_min: float,
    *,
    points: np.ndarray,
    weights: np.ndarray | None = None,
    speed_kmh: float = WALK_KMH,
    dwell_min: float = 12.0,
    stops: int = 3,
    bandwidth_m: float = 100.0,
) -> HotSpotPlan:
    """A closed walk from ``start`` in ``budget_min`` that covers most incident weight among ``area_edges``."""
    _check_budget(area_edges, budget_min, speed_kmh, dwell_min)
    g = network.graph
    metres_per_min = speed_kmh * 1000 / 60
    prize = {
        e: w
        for e, w in edge_weights(network, points, weights, bandwidth_m=bandwidth_m).items()
        if e in area_edges
    }
    area_nodes = sorted({n for e in area_edges for n in e[:2]})
    spots = (
        hot_spots(network, area_nodes, points, weights, count=stops, bandwidth_m=bandwidth_m)
        if len(points)
        else []
    )
    tour = _Tour(g, start)
    dwell = tour.stop_at(spots, budget_min, metres_per_min, dwell_min)
    walked = tour.take_edges(prize, (budget_min - len(dwell) * dwell_min) * metres_per_min)
    edges = _expand(g, tour.visits)
    if not edges:
        raise PatrolError(f"a budget of {budget_min:g} minutes is too short to walk anywhere and back")
    route = Route.walking(
        network,
        edges,
        {e for e in walked if e in prize},
        lambda metres: metres / metres_per_min + len(dwell) * dwell_min,
        optimal=False,
        notes=[
            f"hot-spot route: greedy insertion within {budget_min:g} min (heuristic); "
            f"{len(dwell)} stops of {dwell_min:g} min"
        ],
    )
    return _plan(network, route, dwell, prize, walked, budget_min)


def _check_budget(area_edges: set[Edge], budget_min: float, speed_kmh: float, dwell_min: float) -> None:
    if not budget_min or budget_min <= 0 or not math.isfinite(budget_min):
        raise PatrolError(f"the time budget must be a positive number of minutes, got {budget_min}")
    if speed_kmh <= 0:
        raise PatrolError(f"walking speed must be positive, got {speed_kmh}")
    if not 10 <= dwell_min <= 15:
        raise PatrolError(f"a hot-spot stop lasts 10 to 15 minutes (Koper's curve), got {dwell_min}")
    if not area_edges:
        raise PatrolError("there is no road to walk in the area")


class _Tour:
    """A cycle of visits from the start: a node (a stop) or an edge walked u→v; between visits, shortest
    walks."""

    def __init__(self, g: nx.MultiGraph, start: int) -> None:
        self.g = g
        self.dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="length_m"))
        self.visits: list[Visit] = [(start, start, None)]

    def walk_m(self, visits: list[Visit]) -> float:
        """Metres walked going round ``visits``."""
        return sum(
            self.dist[a[1]][b[0]] + (self.g.edges[b]["length_m"] if b[2] is not None else 0.0)
            for a, b in zip(visits, visits[1:] + visits[:1], strict=True)
        )

    def stop_at(
        self, spots: list[tuple[int, float]], budget_min: float, metres_per_min: float, dwell_min: float
    ) -> list[dict]:
        """Stop at each hot spot in turn, where it costs least to call, while the walk and the stops fit the
        budget; the stops made."""
        dist, tour = self.dist, self.visits
        dwell: list[dict] = []
        for node, density in spots:
            best = min(
                range(len(tour)),
                key=lambda i: dist[tour[i][1]][node] + dist[node][tour[(i + 1) % len(tour)][0]],
            )
            trial = tour[: best + 1] + [(node, node, None)] + tour[best + 1 :]
            minutes = self.walk_m(trial) / metres_per_min + (len(dwell) + 1) * dwell_min
            if minutes <= budget_min:
                tour = trial
                dwell.append({"node": node, "minutes": dwell_min, "density": density})
        self.visits = tour
        return dwell

    def take_edges(self, prize: dict[Edge, float], budget_m: float) -> set[Edge]:
        """Insert, again and again, the edge with the most prize per metre added while the walk stays within
        ``budget_m``; the edges walked."""
        walked = _walked(self.g, self.visits)
        length = self.walk_m(self.visits)
        while (best := self._best_insertion(prize, walked, length, budget_m)) is not None:
            i, visit, extra = best
            self.visits = self.visits[: i + 1] + [visit] + self.visits[i + 1 :]
            length += extra
            walked = _walked(self.g, self.visits)
        return walked

    def _best_insertion(
        self, prize: dict[Edge, float], walked: set[Edge], length: float, budget_m: float
    ) -> tuple[int, Visit, float] | None:
        """The unwalked edge (and way along it, and place in the tour) with the most prize per metre added
        that fits ``budget_m``: after which visit, the visit, the metres added."""
        g, dist, tour = self.g, self.dist, self.visits
        best_gain, best_trial = 0.0, None
        for e, w in prize.items():
            if e in walked or w <= 0:
                continue
            for u, v in ((e[0], e[1]), (e[1], e[0])):
                for i in range(len(tour)):
                    a, b = tour[i][1], tour[(i + 1) % len(tour)][0]
                    extra = dist[a][u] + g.edges[e]["length_m"] + dist[v][b] - dist[a][b]
                    if length + extra <= budget_m and w / max(extra, 1e-9) > best_gain:
                        best_gain, best_trial = w / max(extra, 1e-9), (i, (u, v, e[2]), extra)
        return best_trial


def _plan(
    network: RoadNetwork,
    route: Route,
    dwell: list[dict],
    prize: dict[Edge, float],
    walked: set[Edge],
    budget_min: float,
) -> HotSpotPlan:
    """The plan's stops (ranked, with WGS-84 places) and shares, also written into the route's report."""
    total_prize = sum(prize.values()) or 1.0
    to_wgs = Transformer.from_crs(network.epsg, 4326, always_xy=True)
    for rank, d in enumerate(dwell, start=1):
        d["rank"] = rank
        d["lon"], d["lat"] = (round(c, 7) for c in to_wgs.transform(*network.graph.nodes[d["node"]]["xy"]))
    plan = HotSpotPlan(
        route,
        dwell,
        sum(w for e, w in prize.items() if e in walked) / total_prize,
        route.duration_min / budget_min,
    )
    route.extra = {
        "budget_min": budget_min,
        "weight_share": round(plan.weight_share, 3),
        "budget_share": round(plan.budget_share, 3),
        "dwell": [{k: d[k] for k in ("rank", "lon", "lat", "minutes")} for d in dwell],
    }
    return plan


def _expand(g: nx.MultiGraph, tour: list[Visit]) -> list[Edge]:
    """The tour's visits joined by shortest walks, as network edges in walking order."""
    edges: list[Edge] = []
    for a, (u, v, k) in zip(tour, tour[1:] + tour[:1], strict=True):
        edges += path_edges(g, nx.shortest_path(g, a[1], u, weight="length_m"))
        if k is not None:
            edges.append((u, v, k))
    return edges


def _walked(g: nx.MultiGraph, tour: list[Visit]) -> set[Edge]:
    return {edge_key(*e) for e in _expand(g, tour)}
