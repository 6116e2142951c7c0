"""Hot-spot routes on a time budget: inside the budget, closed, stopping at the hottest junction, hot roads first."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from core.errors import Unprocessable
from core.patrols import plan
from geo.hotspots import edge_weights, hotspot_route
from geo.network import build_network
from geo.patrol import PatrolError, required_edges
from tests.geo.test_patrol import E0, N0, lattice


def cluster(x: float, y: float, n: int = 40, spread: float = 15.0, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal([x, y], spread, (n, 2))


def _joined_and_closed(route) -> bool:
    e = route.edges
    return bool(e) and all(a[1] == b[0] for a, b in zip(e, e[1:], strict=False)) and e[0][0] == e[-1][1]


def test_a_short_budget_stands_at_the_hot_spot_and_walks_the_hot_streets():
    network = build_network(lattice())
    required = required_edges(network)
    # Reports crowd the middle of the south street (a market), a few scatter elsewhere.
    points = np.vstack([cluster(E0 + 150, N0), cluster(E0 + 20, N0 + 180, n=3, seed=2)])
    start, _ = network.nearest_node(
        *gpd.GeoSeries([shapely.Point(E0, N0)], crs=32651).to_crs(4326).iloc[0].coords[0]
    )
    result = hotspot_route(network, required, start, 25, points=points, stops=1)
    route = result.route
    assert _joined_and_closed(route) and route.edges[0][0] == start
    assert route.duration_min <= 25 + 1e-9 and result.budget_share <= 1
    [stop] = result.dwell
    assert network.graph.nodes[stop["node"]]["xy"] == pytest.approx((E0 + 100, N0), abs=0.01)
    assert stop["minutes"] == 12
    # 13 minutes of walking (867 m) out of the 1,600 m a full round takes, yet most of the weight.
    walked_share = route.required_length_m / network.report["length_m"]
    assert result.weight_share > 0.6 > walked_share
    weights = edge_weights(network, points)
    hottest = max(weights, key=weights.get)
    assert hottest in route.required


def test_a_generous_budget_covers_everything_and_bad_budgets_are_refused():
    network = build_network(lattice())
    required = required_edges(network)
    start = min(network.graph)
    result = hotspot_route(network, required, start, 120, points=cluster(E0 + 100, N0 + 100))
    assert result.weight_share == pytest.approx(1.0) and result.route.required == required
    assert _joined_and_closed(result.route)
    for budget in (0, -5, float("nan")):
        with pytest.raises(PatrolError, match="time budget"):
            hotspot_route(network, required, start, budget, points=np.empty((0, 2)))
    with pytest.raises(PatrolError, match="10 to 15 minutes"):
        hotspot_route(network, required, start, 60, points=np.empty((0, 2)), dwell_min=30)


def test_budget_routes_through_the_cli_and_the_api(cli, tmp_path, world):
    roads, incidents, out = (
        tmp_path / "roads.geojson",
        tmp_path / "incidents.geojson",
        tmp_path / "hot.geojson",
    )
    lattice().to_file(roads)
    xy = cluster(E0 + 150, N0)
    gpd.GeoDataFrame(
        {"tier": ["A"] * len(xy)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=32651
    ).to_crs(4326).to_file(incidents)
    r = cli(None, f"patrol plan --roads {roads} --budget 30 --incidents {incidents} --out {out}")
    assert r.exit_code == 0, r.output
    props = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert props["budget_min"] == 30 and len(props["dwell"]) == 1 and props["duration_min"] <= 30
    assert "热点 hot spots" in r.output
    bad = cli(None, "patrol", "plan", "--roads", str(roads), "--budget", "0", "--out", str(out))
    assert bad.exit_code == 1 and "time budget" in bad.output
    # Through the API, weighted by the incidents reported in the grid.
    place = world.places[0]
    for _ in range(5):
        assert world.report(world.district, place, channel="patrol").status_code == 201
    r = world.post("/api/v1/patrols/plan", world.district, {"grid": place.grid_id, "budget_min": 20})
    assert r.status_code == 200, r.get_json()
    props = r.get_json()["features"][0]["properties"]
    assert props["duration_min"] <= 20 and props["dwell"] and props["weight_share"] > 0
    r = world.post("/api/v1/patrols/plan", world.district, {"grid": place.grid_id, "budget_min": "soon"})
    assert r.status_code == 400
    with pytest.raises(Unprocessable, match="one patroller"):
        plan(lattice(), budget_min=30, patrollers=2)
