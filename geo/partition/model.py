"""What partitioning takes and gives: the error for bad input, the prepared cells and the result."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS


class PartitionError(ValueError):
    """Input that cannot be partitioned (no area, buildings outside the parent, negative households)."""


@dataclass
class Partition:
    """Grids (id, households, n_buildings, polsby_popper, in_band, geometry) and each building's grid."""

    grids: gpd.GeoDataFrame
    assignments: pd.Series
    report: dict = field(default_factory=dict)
    units: pd.DataFrame | None = (
        None  # buildings split by units: building, unit_from, unit_to, households, grid_id
    )


@dataclass
class Cells:
    """The tessellated parent in a metric CRS: cells, their buildings and households, and their adjacency."""

    epsg: int
    crs: CRS
    cells: np.ndarray
    owner: np.ndarray
    hh: np.ndarray  # households per cell
    building_hh: np.ndarray
    a: np.ndarray
    b: np.ndarray
    length: np.ndarray
    off: np.ndarray
    xy: np.ndarray
    roads_m: gpd.GeoSeries | None
    index: pd.Index
    leader: np.ndarray  # building → the building whose cell it shares (itself, unless footprints overlap)
    parent: shapely.Geometry  # the parent's outline, metric
    across: np.ndarray  # each adjacency edge: whether it runs along a barrier (a major road, railway, water)


def band(target: float, tolerance: float) -> tuple[float, float]:
    """The households a grid may hold: ``target`` ± ``tolerance`` (a share of the target)."""
    return target * (1 - tolerance), target * (1 + tolerance)


def labels(parts: list[np.ndarray], n: int) -> np.ndarray:
    """Each of ``n`` cells' grid: the position of the part holding it."""
    grid_of = np.empty(n, dtype=np.int64)
    for i, members in enumerate(parts):
        grid_of[members] = i
    return grid_of
