"""Points spaced along lines, and nearness found by point search.

Patrol coverage (how much of a road a track passed), road-following (how much of a grid boundary lies
near a road) and hot-spot weights (density integrated along a road) all ask "how much of this line is
near that": sampling the line and searching densified vertices with a KD-tree answers it in
milliseconds, where buffering the union of thousands of lines takes seconds. Pure: arrays in and out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree


@dataclass
class LineSamples:
    """Points at the middles of equal steps along each line: ``xy``, the line each belongs to, and the
    metres each stands for."""

    xy: np.ndarray
    owner: np.ndarray
    length: np.ndarray
    n_lines: int

    def per_line(self, values: np.ndarray) -> np.ndarray:
        """Sum a value per sample into one per line."""
        return np.bincount(self.owner, weights=values, minlength=self.n_lines)


def sample_lines(lines: np.ndarray, step_m: float) -> LineSamples:
    """At least one sample per line, and one every ``step_m`` metres (metric lines)."""
    lines = np.asarray(lines, dtype=object)
    lengths = shapely.length(lines)
    counts = np.maximum(np.ceil(lengths / step_m).astype(np.int64), 1)
    owner = np.repeat(np.arange(len(lines)), counts)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    at = (np.arange(counts.sum()) - start[owner] + 0.5) / counts[owner]
    xy = shapely.get_coordinates(shapely.line_interpolate_point(lines[owner], at, normalized=True))
    return LineSamples(xy.reshape(-1, 2), owner, lengths[owner] / counts[owner], len(lines))


def vertices(geoms: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Every vertex of the geometries densified to ``step_m``, and which geometry each came from."""
    return shapely.get_coordinates(shapely.segmentize(np.asarray(geoms, dtype=object), step_m), return_index=True)


def near(points: np.ndarray, where: np.ndarray, within_m: float) -> np.ndarray:
    """Whether each of ``where`` has one of ``points`` within ``within_m`` (only those in the points' reach
    are searched)."""
    out = np.zeros(len(where), dtype=bool)
    if len(points) == 0 or len(where) == 0:
        return out
    lo, hi = points.min(axis=0) - within_m, points.max(axis=0) + within_m
    reach = np.flatnonzero(((where >= lo) & (where <= hi)).all(axis=1))
    if len(reach):
        out[reach] = cKDTree(points).query_ball_point(where[reach], within_m, return_length=True) > 0
    return out
