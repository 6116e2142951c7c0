"""Planning patrols for the CLI and the API: roads and areas from files or the database, routes out
as GeoJSON and GPX (what patrol phones load)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import gpxpy.gpx
import networkx as nx
import numpy as np
import shapely
from sqlalchemy import Connection

from core.errors import NotFound, Unprocessable
from core.periods import INCIDENT_DAYS
from geo.heat import tier_weights
from geo.hotspots import hotspot_route
from geo.network import NetworkError, RoadNetwork, build_network, label_edges
from geo.patrol import (
    PatrolError,
    Route,
    balance,
    both_sides,
    coverage_route,
    directed_route,
    required_edges,
    route_feature,
    route_line,
    split_route,
)
from store import patrols as stored
from store.hierarchy import street_roads

MAX_START_M = 200.0


def depot_node(network: RoadNetwork, required: set) -> int:
    """The required road end nearest the middle of the roads to walk (the default start)."""
    nodes = sorted({n for e in required for n in e[:2]})
    xy = [network.graph.nodes[n]["xy"] for n in nodes]
    mid = shapely.MultiPoint(xy).centroid
    return min(nodes, key=lambda n: shapely.Point(network.graph.nodes[n]["xy"]).distance(mid))


def _start(network: RoadNetwork, required: set, start: tuple[float, float] | None) -> int:
    if start is None:
        return depot_node(network, required)
    node, distance = network.nearest_node(*start)
    if distance > MAX_START_M:
        raise PatrolError(
            f"start {start[0]}, {start[1]} is {distance:.0f} m from the nearest road; "
            f"give a point within {MAX_START_M:.0f} m of one"
        )
    return node


def plan(
    roads: gpd.GeoDataFrame,
    area: shapely.Geometry | None = None,
    start: tuple[float, float] | None = None,
    *,
    speed_kmh: float = 4.0,
    patrollers: int = 1,
    sides: bool = False,
    budget_min: float | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    labels: dict | None = None,
) -> tuple[RoadNetwork, list[Route]]:
    """Full-coverage routes over the roads (those of ``area`` when given, WGS-84), shared by ``patrollers``;
    ``sides``: walk each street along both sides (shops on both sides of a main road); ``budget_min``: a
    hot-spot route in that time instead, weighted by ``incidents`` (points, with ``tier`` when known).

    Raises ``Unprocessable`` for a count out of range or when these roads cannot give a route, ``Invalid``
    for a hot-spot route asked of several patrollers or both sides."""
    if patrollers < 1 or patrollers > 50:
        raise Unprocessable(f"patrollers must be 1 to 50, got {patrollers}")
    try:
        return _plan(roads, area, start, speed_kmh, patrollers, sides, budget_min, incidents, labels)
    except (PatrolError, NetworkError) as exc:
        raise Unprocessable(str(exc)) from None


def _plan(
    roads: gpd.GeoDataFrame,
    area: shapely.Geometry | None,
    start: tuple[float, float] | None,
    speed_kmh: float,
    patrollers: int,
    sides: bool,
    budget_min: float | None,
    incidents: gpd.GeoDataFrame | None,
    labels: dict | None,
) -> tuple[RoadNetwork, list[Route]]:
    network = build_network(roads)
    if labels:
        label_edges(network, **labels)
    required = required_edges(network, area)
    if not required:
        raise PatrolError("there are no roads in the area to walk")
    depot = _start(network, required, start)
    # Roads in pieces the start cannot reach are left out and said so, rather than failing the whole plan.
    reachable = nx.node_connected_component(network.graph, depot)
    cut_off = {e for e in required if e[0] not in reachable}
    required -= cut_off
    if not required:
        raise PatrolError("no road to walk can be reached from the start")
    unreached = (
        [
            f"{sum(network.graph.edges[e]['length_m'] for e in cut_off):,.0f} m of road in pieces the start "
            "cannot reach on this network are not in the route"
        ]
        if cut_off
        else []
    )
    routes = _routes(
        network,
        required,
        depot,
        speed_kmh=speed_kmh,
        patrollers=patrollers,
        sides=sides,
        budget_min=budget_min,
        incidents=incidents,
    )
    for route in routes:
        route.notes += unreached
    return network, routes


def _routes(
    network: RoadNetwork,
    required: set,
    depot: int,
    *,
    speed_kmh: float,
    patrollers: int,
    sides: bool,
    budget_min: float | None,
    incidents: gpd.GeoDataFrame | None,
) -> list[Route]:
    if budget_min is not None:
        if patrollers != 1 or sides:
            raise Unprocessable("a hot-spot route (budget) is for one patroller on one side of the street")
        points, weights = _incident_points(incidents, network.epsg)
        return [
            hotspot_route(
                network, required, depot, budget_min, points=points, weights=weights, speed_kmh=speed_kmh
            ).route
        ]
    if sides:
        route = directed_route(network, both_sides(required), depot, speed_kmh=speed_kmh)
    else:
        route = coverage_route(network, required, depot, speed_kmh=speed_kmh)
    return split_route(network, route, patrollers, depot)


def _incident_points(incidents: gpd.GeoDataFrame | None, epsg: int) -> tuple[np.ndarray, np.ndarray | None]:
    if incidents is None or len(incidents) == 0:
        return np.empty((0, 2)), None
    metric = incidents.to_crs(epsg)
    weights = tier_weights(metric["tier"]) if "tier" in metric.columns else None
    return shapely.get_coordinates(metric.geometry.values), weights


def recent_incidents(
    conn: Connection, area: shapely.Geometry, days: int = INCIDENT_DAYS, until: datetime | None = None
) -> gpd.GeoDataFrame:
    """Incidents of the last ``days`` near the area (within 300 m), with their tier: what a hot-spot patrol
    weighs."""
    return stored.incidents_near(conn, area.wkt, days, until)


# What a refusal calls each kind of area to walk (only a current grid is walked).
_AREA_NAMES = {"grid": "current grid", "street": "street", "chief": "street chief"}


def area_inputs(
    conn: Connection, *, grid: str | None = None, street: str | None = None, chief: str | None = None
) -> tuple[gpd.GeoDataFrame, shapely.Geometry, dict[str, gpd.GeoDataFrame]]:
    """The street's roads, what to walk (a grid's outline, a street's, or a chief's responsible segment), and
    the street's grids, communities and segments to label the network's edges with."""
    asked = [(kind, key) for kind, key in (("grid", grid), ("street", street), ("chief", chief)) if key]
    if len(asked) != 1:
        raise Unprocessable("say exactly one of grid, street or chief")
    kind, key = asked[0]
    row = stored.area_row(conn, kind, key)
    if row is None:
        raise NotFound(f"no {_AREA_NAMES[kind]} {key!r}")
    outline, street_id = row
    labels = stored.label_frames(conn, street_id)
    return street_roads(conn, street_id), shapely.from_wkb(outline), labels


def routes_geojson(network: RoadNetwork, routes: list[Route]) -> dict:
    features = [route_feature(network, r) for r in routes]
    for i, f in enumerate(features, start=1):
        f["properties"]["patroller"] = i
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "patrollers": len(routes),
            "balance": round(balance(routes), 3),
            "network": network.report,
        },
    }


def write_geojson(network: RoadNetwork, routes: list[Route], path: Path) -> None:
    path.write_text(json.dumps(routes_geojson(network, routes), ensure_ascii=False), encoding="utf-8")


def write_gpx(network: RoadNetwork, routes: list[Route], path: Path) -> None:
    """One track per patroller."""
    gpx = gpxpy.gpx.GPX()
    for i, route in enumerate(routes, start=1):
        track = gpxpy.gpx.GPXTrack(name=f"巡查路线 patrol route {i}")
        track.description = f"{route.length_m:.0f} m, {route.duration_min:.0f} min"
        segment = gpxpy.gpx.GPXTrackSegment()
        segment.points = [
            gpxpy.gpx.GPXTrackPoint(latitude=y, longitude=x) for x, y in route_line(network, route).coords
        ]
        track.segments.append(segment)
        gpx.tracks.append(track)
    path.write_text(gpx.to_xml(), encoding="utf-8")
