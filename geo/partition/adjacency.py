"""Which cells touch, along how much boundary, and how much of that boundary follows a road."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.sampling import near, sample_lines, vertices

ROAD_NEAR_M = 15.0
BARRIER_NEAR_M = 1.0  # barriers are cut lines: the cells on either side meet on the line itself


def adjacency(
    cells: np.ndarray, roads_m: gpd.GeoSeries | None, barriers_m: gpd.GeoSeries | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of touching cells, their shared boundary length, how much of it lies off the roads, and whether
    it runs along a barrier (most of it within a metre of one: the barrier is a cut line between them)."""
    a, b = shapely.STRtree(cells).query(cells, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.intersection(shapely.boundary(cells[a]), shapely.boundary(cells[b]))
    length = shapely.length(shared)
    ok = length > 0.01
    a, b, shared, length = a[ok], b[ok], shared[ok], length[ok]
    off = (
        length - near_road_length(shared, roads_m) if roads_m is not None and len(roads_m) else length.copy()
    )
    across = np.zeros(len(a), dtype=bool)
    if barriers_m is not None and len(barriers_m):
        across = near_road_length(shared, barriers_m, within_m=BARRIER_NEAR_M) > 0.5 * length
    return a, b, length, off, across


def near_road_length(
    lines: np.ndarray, roads_m: gpd.GeoSeries, within_m: float = ROAD_NEAR_M, step_m: float = 1.0
) -> np.ndarray:
    """Length of each metric line within ``within_m`` of a road, measured every ``step_m``.

    Sampling against densified road vertices instead of buffering the union of the roads: a real road
    layer (thousands of OSM footways) takes seconds to buffer and this takes milliseconds.
    """
    lines = np.asarray(lines, dtype=object)
    out = np.zeros(len(lines))
    # Most cell edges of a city lie far from every road: only those within reach are sampled.
    close = np.unique(shapely.STRtree(roads_m.values).query(lines, predicate="dwithin", distance=within_m)[0])
    if len(close):
        samples = sample_lines(lines[close], step_m)
        xy, _ = vertices(roads_m.values, step_m)
        out[close] = samples.per_line(near(xy, samples.xy, within_m) * samples.length)
    return out
