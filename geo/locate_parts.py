"""The bulk locate's per-partition kernel, for workers on other processes or machines.

A worker gets the hierarchy as WKB and a few id columns (a few megabytes for a district; the
locator's cell table is ten times that and cheap to rebuild), builds the ``Locator`` once per hierarchy
version and keeps it for every partition that follows: the version is a hash of what was sent, so a
changed hierarchy can never be answered from a stale locator.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.locate import RESULT_COLUMNS, Hierarchy, Locator

# Layer → the plain columns a locator reads beside the geometry.
WIRE_COLUMNS = {
    "streets": ("id",),
    "communities": ("id", "street_id"),
    "grids": ("id", "community_id"),
    "buildings": ("id",),
    "road_segments": ("id",),
}
# Locators kept per process: the current hierarchy and the one before it (a job started before a change).
KEEP_LOCATORS = 2


@dataclass(frozen=True)
class HierarchyWire:
    """A hierarchy as it travels to workers: per layer, its id columns and WKB geometries."""

    layers: dict[str, dict[str, list]]
    version: str

    @classmethod
    def from_hierarchy(cls, hierarchy: Hierarchy) -> HierarchyWire:
        """Only what a locator reads, in a stable order, hashed into its version."""
        layers: dict[str, dict[str, list]] = {}
        digest = hashlib.sha256()
        for name, columns in WIRE_COLUMNS.items():
            frame = getattr(hierarchy, name)
            frame = frame.sort_values("id", kind="stable") if len(frame) else frame
            part = {c: [None if pd.isna(v) else v for v in frame[c].tolist()] for c in columns}
            part["wkb"] = list(shapely.to_wkb(frame.geometry.values, output_dimension=2))
            layers[name] = part
            digest.update(name.encode())
            digest.update(repr([part[c] for c in columns]).encode())
            for blob in part["wkb"]:
                digest.update(blob or b"")
        return cls(layers=layers, version=digest.hexdigest()[:16])

    def to_hierarchy(self) -> Hierarchy:
        """The frames back, in EPSG:4326, as ``Hierarchy.from_layers`` would have them."""
        frames = {}
        for name, part in self.layers.items():
            geometry = gpd.GeoSeries(shapely.from_wkb(np.asarray(part["wkb"], dtype=object)), crs=4326)
            data = {c: pd.Series(v, dtype=object) for c, v in part.items() if c != "wkb"}
            frames[name] = gpd.GeoDataFrame(data, geometry=geometry, crs=4326)
        frames["people"] = pd.DataFrame({"id": [], "role": [], "grid_id": [], "segment_id": []})
        return Hierarchy(**frames)


_locators: dict[tuple[str, float], Locator] = {}
_lock = threading.Lock()


def cached_locator(wire: HierarchyWire, segment_search_m: float) -> Locator:
    """This process's locator for the wire's version, built on first use (the lock keeps a worker with
    several threads from building it twice)."""
    key = (wire.version, float(segment_search_m))
    with _lock:
        locator = _locators.get(key)
        if locator is None:
            locator = Locator(wire.to_hierarchy(), segment_search_m=segment_search_m)
            while len(_locators) >= KEEP_LOCATORS:
                _locators.pop(next(iter(_locators)))
            _locators[key] = locator
        return locator


def locators_built() -> list[str]:
    """Versions this process holds a locator for (the tests ask each worker)."""
    return [version for version, _ in _locators]


def locate_part(
    frame: pd.DataFrame,
    lon: np.ndarray,
    lat: np.ndarray,
    wire: HierarchyWire,
    *,
    crs: str = "wgs84",
    segment_search_m: float = 50.0,
) -> pd.DataFrame:
    """One partition: ``frame`` with the result columns added, as the in-process path adds them."""
    result = cached_locator(wire, segment_search_m).locate_arrays(lon, lat, crs)
    out = frame.copy()
    for col in RESULT_COLUMNS:
        out[col] = result[col].to_numpy()
    return out
