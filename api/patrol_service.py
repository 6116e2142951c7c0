"""Planning patrols for the CLI and the API: roads and areas from files or the database, routes out
as GeoJSON and GPX (what patrol phones load)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import gpxpy.gpx
import shapely
from sqlalchemy import Connection, text

from geo.network import NetworkError, RoadNetwork, build_network
from geo.patrol import PatrolError, Route, coverage_route, required_edges, route_feature, route_line

MAX_START_M = 200.0


def _start(network: RoadNetwork, required: set, start: tuple[float, float] | None) -> int:
    if start is not None:
        node, distance = network.nearest_node(*start)
        if distance > MAX_START_M:
            raise PatrolError(f"start {start[0]}, {start[1]} is {distance:.0f} m from the nearest road; "
                              f"give a point within {MAX_START_M:.0f} m of one")
        return node
    # Default: the required road end nearest the middle of the roads to walk.
    nodes = sorted({n for e in required for n in e[:2]})
    xy = [network.graph.nodes[n]["xy"] for n in nodes]
    mid = shapely.MultiPoint(xy).centroid
    return min(nodes, key=lambda n: shapely.Point(network.graph.nodes[n]["xy"]).distance(mid))


def plan(roads: gpd.GeoDataFrame, area=None, start: tuple[float, float] | None = None, *,
         speed_kmh: float = 4.0) -> tuple[RoadNetwork, Route]:
    """A full-coverage route over the roads (those of ``area`` when given, a WGS-84 polygon)."""
    try:
        network = build_network(roads)
    except NetworkError as exc:
        raise PatrolError(str(exc)) from None
    required = required_edges(network, area)
    if not required:
        raise PatrolError("there are no roads in the area to walk")
    return network, coverage_route(network, required, _start(network, required, start), speed_kmh=speed_kmh)


def grid_inputs(conn: Connection, grid_id: str) -> tuple[gpd.GeoDataFrame, object]:
    """The roads of a grid's street and the grid's outline, from the database."""
    row = conn.execute(text("""
        SELECT ST_AsBinary(g.geom) AS geom, c.street_id FROM grids g JOIN communities c ON c.id = g.community_id
        WHERE g.id = :g AND g.valid_to IS NULL"""), {"g": grid_id}).first()
    if row is None:
        raise PatrolError(f"no current grid {grid_id!r}")
    roads = gpd.read_postgis(text("SELECT name, geom FROM roads WHERE street_id = :s"), conn, geom_col="geom",
                             params={"s": row.street_id})
    return roads, shapely.from_wkb(row.geom)


def write_geojson(network: RoadNetwork, route: Route, path: Path) -> None:
    feature = route_feature(network, route)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False),
                    encoding="utf-8")


def write_gpx(network: RoadNetwork, route: Route, path: Path, name: str = "巡查路线 patrol route") -> None:
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack(name=name)
    track.description = f"{route.length_m:.0f} m, {route.duration_min:.0f} min"
    segment = gpxpy.gpx.GPXTrackSegment()
    segment.points = [gpxpy.gpx.GPXTrackPoint(latitude=y, longitude=x) for x, y in route_line(network, route).coords]
    track.segments.append(segment)
    gpx.tracks.append(track)
    path.write_text(gpx.to_xml(), encoding="utf-8")
