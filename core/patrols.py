"""Planning patrols for the CLI and the API: roads and areas from files or the database, routes out
as GeoJSON and GPX (what patrol phones load)."""

from __future__ import annotations

import json
from collections.abc import Callable
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
from geo.coords import utm_epsg
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
# Planning costs about 0.4 ms per edge of network on 2 cores (noding, the T-join, the Euler circuit, steps): a
# network past MAX_ROUTE_EDGES would take past 15 s, and is refused at once rather than left to run for minutes.
SECONDS_PER_EDGE = 4e-4
MAX_ROUTE_EDGES = 40_000
EDGES_PER_LINE = 2.0  # a road line is cut at its crossings into about two edges (OSM walking ways: 1.95)
EDGES_PER_PBF_KB = 6.6  # central Helsinki's extract: 4,530 walkable edges in 685 KB, buildings and all
# Roads this far round an area are kept to connect its streets: a shorter walk between two of them that goes
# farther out would be a rare detour, and noding a whole city's extract for one neighbourhood is not.
AROUND_AREA_M = 1000.0


def plan_seconds(roads: gpd.GeoDataFrame) -> float:
    """About how long planning over these road lines takes (s), from their count."""
    return len(roads) * EDGES_PER_LINE * SECONDS_PER_EDGE


def _near(roads: gpd.GeoDataFrame, area: shapely.Geometry | None) -> gpd.GeoDataFrame:
    """The roads within ``AROUND_AREA_M`` of the area (all of them without one): a whole city's extract
    asked for one neighbourhood is noded only round it."""
    if area is None or len(roads) == 0 or roads.crs is None:
        return roads
    centre = area.centroid
    metric = gpd.GeoSeries([area], crs=4326).to_crs(utm_epsg(centre.x, centre.y))
    reach = metric.buffer(AROUND_AREA_M).to_crs(roads.crs).iloc[0]
    near = roads[roads.intersects(reach)]
    if len(near) == 0:
        raise PatrolError("there are no roads in the area to walk")
    return near


def _check_size(roads: gpd.GeoDataFrame) -> None:
    """Refuse at once a network too big to plan in seconds, saying how big it is."""
    edges = len(roads) * EDGES_PER_LINE
    if edges > MAX_ROUTE_EDGES:
        km = roads.to_crs(roads.estimate_utm_crs()).length.sum() / 1000 if roads.crs else float("nan")
        _too_large(f"{len(roads):,} road lines ({km:,.0f} km, about {edges:,.0f} edges)")


def check_extract(size_bytes: int) -> None:
    """Refuse at once an OSM extract whose walking network would be too big to plan in seconds, before it is
    read (reading a city's extract whole takes minutes and gigabytes)."""
    edges = size_bytes / 1024 * EDGES_PER_PBF_KB
    if edges > MAX_ROUTE_EDGES:
        _too_large(
            f"an OSM extract of {size_bytes / 2**20:,.1f} MB (about {edges:,.0f} edges of walking ways)"
        )


def _too_large(size: str) -> None:
    raise Unprocessable(
        f"范围太大 too large to plan at once: {size}; at most {MAX_ROUTE_EDGES:,} edges plan in seconds. "
        "请缩小范围 Narrow it: --area FILE, --street ID or --grid ID"
    )


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
    progress: Callable[[str], None] | None = None,
) -> tuple[RoadNetwork, list[Route]]:
    """Full-coverage routes over the roads (those of ``area`` when given, WGS-84), shared by ``patrollers``;
    ``sides``: walk each street along both sides (shops on both sides of a main road); ``budget_min``: a
    hot-spot route in that time instead, weighted by ``incidents`` (points, with ``tier`` when known).
    ``progress`` is told the name of each stage as it starts (a long plan shows where it is).

    Raises ``Unprocessable`` for a count out of range, a network too big to plan in seconds (at once, before
    any work) or when these roads cannot give a route, ``Invalid`` for a hot-spot route asked of several
    patrollers or both sides."""
    if patrollers < 1 or patrollers > 50:
        raise Unprocessable(f"patrollers must be 1 to 50, got {patrollers}")
    told = progress or (lambda _stage: None)
    try:
        roads = _near(roads, area)
        _check_size(roads)
        return _plan(roads, area, start, speed_kmh, patrollers, sides, budget_min, incidents, labels, told)
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
    told: Callable[[str], None],
) -> tuple[RoadNetwork, list[Route]]:
    told("路网 network")
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
    told("路线 route")
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
