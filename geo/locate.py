"""Bulk locating: points → building, grid, community, street, nearest responsible segment, in memory.

This is the vectorised twin of the online path in ``store.locate.locate_point``; both
follow the same rules, and the property tests hold them to identical answers:

* grid: the current grid that covers the point (``ST_Covers`` semantics: the
  boundary counts); on a shared edge or vertex the lowest grid id wins;
* community and street: the grid's parents (grids tile communities, so a point is
  never in a community without being in one of its grids);
* building: the footprint that covers the point, lowest id on ties (building and
  segment are given only for points inside the service area);
* segment: the nearest responsible segment within ``segment_search_m`` metres,
  measured in the area's UTM zone; distances equal to the millimetre go to the lowest id;
* status: ``ok``, ``outside_service_area`` (no grid covers it) or
  ``invalid_coordinates`` (NaN or off the Earth; bulk input only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pyproj import Transformer

from geo.coords import to_wgs84, utm_epsg
from geo.polygon_index import PolygonIndex
from geo.segment_index import SegmentIndex

OK = "ok"
OUTSIDE = "outside_service_area"
INVALID = "invalid_coordinates"
RESULT_COLUMNS = (
    "street_id",
    "community_id",
    "grid_id",
    "building_id",
    "segment_id",
    "segment_distance_m",
    "status",
)


@dataclass
class Hierarchy:
    """The layers a locate needs, as frames in EPSG:4326 (grids: current ones only)."""

    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    road_segments: gpd.GeoDataFrame
    people: pd.DataFrame

    @classmethod
    def from_layers(cls, layers: dict[str, pd.DataFrame]) -> Hierarchy:
        """From frames keyed by layer name (a district file); grids with a ``valid_to`` are history and left out."""
        grids = layers["grids"]
        if "valid_to" in grids.columns:
            grids = grids[grids["valid_to"].isna()]
        empty = pd.DataFrame({"id": [], "role": [], "grid_id": [], "segment_id": []})
        return cls(
            streets=layers["streets"],
            communities=layers["communities"],
            grids=grids,
            buildings=layers.get("buildings", _empty_layer()),
            road_segments=layers.get("road_segments", _empty_layer()),
            people=layers.get("people", empty),
        )

    def metric_epsg(self) -> int:
        """The UTM zone of the service area's centre: where distances are measured."""
        return metric_epsg_for_bounds(self.streets.total_bounds)


def _empty_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": pd.Series([], dtype=object)}, geometry=gpd.GeoSeries([], crs=4326), crs=4326
    )


def metric_epsg_for_bounds(bounds: Sequence[float] | np.ndarray) -> int:
    """The UTM zone of the centre of ``bounds`` (min x, min y, max x, max y in degrees)."""
    minx, miny, maxx, maxy = bounds
    return utm_epsg((minx + maxx) / 2, (miny + maxy) / 2)


def _sorted(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


class Locator:
    """Built once per hierarchy (a second or two at district scale), then locates millions of points."""

    def __init__(self, hierarchy: Hierarchy, segment_search_m: float = 50.0):
        self.segment_search_m = float(segment_search_m)
        self.grids = _sorted(hierarchy.grids)
        self.buildings = _sorted(hierarchy.buildings)
        self.segments = _sorted(hierarchy.road_segments)
        self.epsg = hierarchy.metric_epsg()
        self.to_metric = Transformer.from_crs(4326, self.epsg, always_xy=True)
        self.grid_index = PolygonIndex(self.grids.geometry.values)
        self.building_index = PolygonIndex(self.buildings.geometry.values)
        community_street = hierarchy.communities.set_index("id")["street_id"]
        self.grid_ids = self.grids["id"].to_numpy(dtype=object)
        self.grid_community = self.grids["community_id"].to_numpy(dtype=object)
        self.grid_street = community_street.reindex(self.grid_community).to_numpy(dtype=object)
        self.building_ids = self.buildings["id"].to_numpy(dtype=object)
        self.segment_ids = self.segments["id"].to_numpy(dtype=object)
        self.segment_index = SegmentIndex(
            self.segments.geometry.to_crs(self.epsg).values, self.segment_search_m
        )

    def locate_arrays(self, lon: ArrayLike, lat: ArrayLike, crs: str = "wgs84") -> pd.DataFrame:
        """Locate points given as arrays; returns one row per point with ``RESULT_COLUMNS``."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        valid = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        x, y = np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
        if valid.any():
            x[valid], y[valid] = to_wgs84(lon[valid], lat[valid], crs)
        g = self.grid_index.query(x, y)
        b = self.building_index.query(x, y)
        seg = np.full(len(x), -1, dtype=np.int64)
        dist = np.full(len(x), np.nan)
        located = g >= 0
        if located.any():
            mx, my = self.to_metric.transform(x[located], y[located])
            seg[located], dist[located] = self.segment_index.query(mx, my)
        status = np.where(located, OK, OUTSIDE).astype(object)
        status[~valid] = INVALID
        return pd.DataFrame(
            {
                "street_id": _take(self.grid_street, g),
                "community_id": _take(self.grid_community, g),
                "grid_id": _take(self.grid_ids, g),
                "building_id": _take(self.building_ids, np.where(located, b, -1)),
                "segment_id": _take(self.segment_ids, seg),
                "segment_distance_m": dist,
                "status": pd.Series(status, dtype=object),
            }
        )

    def locate_one(self, lon: float, lat: float, crs: str = "wgs84") -> dict:
        """One point, as a dict of ``RESULT_COLUMNS`` (None for what it is not in)."""
        row = self.locate_arrays([lon], [lat], crs).iloc[0].to_dict()
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def _take(values: np.ndarray, idx: np.ndarray) -> pd.Series:
    """Ids by index, None where -1 (object dtype: pandas' string dtype would turn None into NaN)."""
    out = np.full(len(idx), None, dtype=object)
    hit = idx >= 0
    out[hit] = values[idx[hit]]
    return pd.Series(out, dtype=object)
