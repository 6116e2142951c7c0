"""Major roads, railways and water as barriers: grids cross them only where the band cannot be met otherwise.

The barriers cut the cells into pieces (cells on either side meet on the barrier line). A piece whose
households can be drawn into grids in band on average stands alone; one that cannot (too few households, a
park, the water itself) joins the neighbouring piece across the barrier that makes it feasible, along the
longest shared barrier. Grids are then drawn in each (merged) piece on its own, so a grid crosses a barrier
only inside a merged piece, and the report counts the grids that do.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.partition.model import Cells

# Road classes that are barriers: OSM's ``highway`` values and the demo's and imports' ``kind`` (main).
MAJOR_ROADS = {"motorway", "trunk", "primary", "secondary", "main"} | {
    f"{k}_link" for k in ("motorway", "trunk", "primary", "secondary")
}


def major_roads(roads: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The roads of a roads layer that are barriers, by their ``highway`` (OSM) or ``kind`` column."""
    column = next((c for c in ("highway", "kind") if c in roads.columns), None)
    if column is None:
        return gpd.GeoSeries([], crs=roads.crs)
    return roads.geometry[roads[column].astype(str).isin(MAJOR_ROADS)]


def pieces(c: Cells) -> np.ndarray:
    """Each cell's piece: the connected parts of the cells with the edges along barriers taken out."""
    keep = ~c.across
    n = len(c.hh)
    graph = coo_matrix((np.ones(keep.sum()), (c.a[keep], c.b[keep])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def feasible(households: float, lo: float, hi: float) -> bool:
    """Whether ``households`` can make whole grids in band on average (some count k ≥ 1 of them)."""
    return households > 0 and math.ceil(households / hi) <= math.floor(households / lo)


def joined(c: Cells, label: np.ndarray, r: int, h: np.ndarray, lo: float, hi: float) -> np.ndarray | None:
    """``label`` with region ``r`` joined to a neighbour across a barrier (one it makes feasible first, then
    the longest shared barrier); None when it has none."""
    la, lb = label[c.a], label[c.b]
    touch = (la == r) ^ (lb == r)
    if not touch.any():
        return None
    other = np.where(la[touch] == r, lb[touch], la[touch])
    shared = pd.Series(c.length[touch]).groupby(other).sum()
    ok = np.array([feasible(h[r] + h[o], lo, hi) for o in shared.index])
    best = shared.index[np.lexsort((-shared.to_numpy(), ~ok))[0]]
    return np.where(label == r, best, label)


def regions(c: Cells, lo: float, hi: float) -> np.ndarray:
    """Each cell's region: its barrier piece, pieces that cannot stand alone merged with a neighbour."""
    label = pieces(c)
    while True:
        h = np.bincount(label, weights=c.hh, minlength=label.max() + 1)
        present = np.unique(label)
        bad = [r for r in present if not feasible(h[r], lo, hi)]
        if not bad or len(present) == 1:
            return label
        merged = joined(c, label, min(bad, key=lambda x: (h[x], x)), h, lo, hi)
        if merged is None:  # cut off by the parent's own outline: nothing to join
            return label
        label = merged


def crossings(grid_of: np.ndarray, c: Cells) -> int:
    """Grids holding households on both sides of a barrier (in two barrier pieces)."""
    built = c.hh > 0
    spans = pd.Series(pieces(c)[built]).groupby(grid_of[built]).nunique()
    return int((spans > 1).sum())
