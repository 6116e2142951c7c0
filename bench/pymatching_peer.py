"""PyMatching's own read-and-solve on a road file, the peer of `wangge patrol plan --roads FILE`: read the
lines, node them, and solve the minimum T-join of the odd junctions with PyMatching, nothing of ours
imported. Prints the T-join's metres, the roads' metres, and the seconds the solve alone took.

Usage: python bench/pymatching_peer.py ROADS.gpkg
"""

from __future__ import annotations

import sys
import time

import geopandas as gpd
import numpy as np
import pymatching
import shapely
from scipy.sparse import csc_matrix


def main(path: str) -> None:
    roads = gpd.read_file(path)
    metric = roads.to_crs(roads.estimate_utm_crs()).geometry.values
    pieces = shapely.get_parts(shapely.node(shapely.union_all(metric)))
    ends = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(pieces, 0)),
            shapely.get_coordinates(shapely.get_point(pieces, -1)),
        ]
    )
    _, node = np.unique(np.round(ends, 2), axis=0, return_inverse=True)
    a, b = node[: len(pieces)], node[len(pieces) :]
    length = shapely.length(pieces)
    started = time.perf_counter()
    odd = np.bincount(np.r_[a, b], minlength=node.max() + 1) % 2
    keep = a != b
    cols = np.flatnonzero(keep)
    matrix = csc_matrix(
        (np.ones(2 * len(cols), dtype=np.uint8), (np.r_[a[cols], b[cols]], np.tile(np.arange(len(cols)), 2))),
        shape=(len(odd), len(cols)),
    )
    chosen = pymatching.Matching.from_check_matrix(matrix, weights=length[cols]).decode(odd.astype(np.uint8))
    solve = time.perf_counter() - started
    print(f"{length[cols][chosen.astype(bool)].sum():.3f} {length.sum():.3f} {solve:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
