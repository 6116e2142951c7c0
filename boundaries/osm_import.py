"""Buildings and roads from an OpenStreetMap extract into the stored district (`wangge import buildings|roads
X.osm.pbf`): an extract names no grid or street, so each feature takes the one it lies in (a building by a
point of its footprint in the current grids, a road by its midpoint in the streets); what lies outside the
district is left out and counted. Households are estimated as `grids draw` estimates them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection

from boundaries.layers import LAYERS
from boundaries.osm import OsmError, read_buildings, read_roads
from boundaries.readers import ReadError, conform
from store.hierarchy import containing

OSM_LAYERS = ("buildings", "roads")


def osm_layer(conn: Connection, layer: str, path: str | Path) -> tuple[gpd.GeoDataFrame, int]:
    """``layer`` of the extract as the layer's columns, and how many of its features lay outside."""
    if layer not in OSM_LAYERS:
        raise ReadError(f"an OSM extract gives {' or '.join(OSM_LAYERS)}, not {layer}")
    try:
        found = read_buildings(path) if layer == "buildings" else read_roads(path)
    except OsmError as exc:
        raise ReadError(str(exc)) from None
    if layer == "buildings":
        anchor = shapely.point_on_surface(found.geometry.values)
        frame = found.assign(
            name=found["id"],
            floors=np.round(found["levels"]).astype(int),
            grid_id=containing(conn, "grids", shapely.get_x(anchor), shapely.get_y(anchor)),
        )
        parent = "grid_id"
    else:
        middle = shapely.line_interpolate_point(found.geometry.values, 0.5, normalized=True)
        name = found["name"].where(found["name"] != "", "(" + found["highway"] + ")").str.slice(0, 100)
        frame = found.assign(
            name=name,
            kind=found["highway"].str.slice(0, 20),
            street_id=containing(conn, "streets", shapely.get_x(middle), shapely.get_y(middle)),
        )
        parent = "street_id"
    inside = frame[frame[parent].notna()]
    if inside.empty:
        raise ReadError(f"none of the {len(frame):,} {layer} in {path} lies in the stored district")
    return conform(inside, LAYERS[layer]), len(frame) - len(inside)
