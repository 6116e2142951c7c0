"""The fine-grained input of partition tests and benchmarks: small buildings on a jittered lattice."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, box


def lattice_buildings(
    n: int,
    seed: int = 0,
    width_m: float = 2000.0,
    height_m: float = 1200.0,
    origin: tuple[float, float] = (421_000.0, 4_552_000.0),
):
    """Small buildings on a jittered lattice near Panjin (UTM 51N), with 5–59 households each, plus the
    boundary around them and a few straight roads: the fine-grained input of partition tests and benchmarks.

    Returns (buildings, boundary, roads, lattice step in metres), all in EPSG:4326.
    """
    rng = np.random.default_rng(seed)
    e0, n0 = origin
    cols = int(np.ceil(np.sqrt(n * width_m / height_m)))
    step = width_m / cols
    i = np.arange(n)
    x = e0 + (i % cols + 0.5) * step + rng.uniform(-step / 6, step / 6, n)
    y = n0 + (i // cols + 0.5) * step + rng.uniform(-step / 6, step / 6, n)
    rows = int(np.ceil(n / cols))
    top = n0 + rows * step
    fp = shapely.buffer(shapely.points(x, y), 3, cap_style="square")
    buildings = gpd.GeoDataFrame({"households": rng.integers(5, 60, n)}, geometry=fp, crs=32651).to_crs(4326)
    boundary = gpd.GeoSeries([box(e0 - 20, n0 - 20, e0 + width_m + 20, top + 20)], crs=32651).to_crs(4326)
    roads = gpd.GeoSeries(
        [LineString([(e0 - 50, n0 + v), (e0 + width_m + 50, n0 + v)]) for v in np.arange(400, top - n0, 400)]
        + [LineString([(e0 + u, n0 - 50), (e0 + u, top + 50)]) for u in np.arange(500, width_m, 500)],
        crs=32651,
    )
    return buildings, boundary, roads.to_crs(4326), step
