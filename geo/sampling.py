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
    return LineSamples(points_along(lines, owner, at), owner, lengths[owner] / counts[owner], len(lines))


def points_along(lines: np.ndarray, line_of: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """The point at ``fraction`` (0 to 1) of the length of each ``lines[line_of]``, as x, y rows.

    GEOS's line_interpolate_point walks a line from its start for every point asked (about 10 µs a point
    on a footprint ring); this cuts all the lines into segments once and finds every point with one
    sorted search. Parts of a multi-line follow one another, as in GEOS.
    """
    lines = np.asarray(lines, dtype=object)
    parts, part_line = shapely.get_parts(lines, return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    joined = coord_part[1:] == coord_part[:-1]  # consecutive vertices of one part make a segment
    p0, p1 = coords[:-1][joined], coords[1:][joined]
    seg_line = part_line[coord_part[:-1][joined]]
    seg_len = np.hypot(*(p1 - p0).T)
    if not len(seg_len):
        return _where_bare(lines[line_of])
    # Segments run line after line, so each has a start and an end on one long axis.
    start = np.concatenate([[0.0], np.cumsum(seg_len)])
    total = np.bincount(seg_line, weights=seg_len, minlength=len(lines))
    first = np.searchsorted(seg_line, np.arange(len(lines)), side="left")
    last = np.searchsorted(seg_line, np.arange(len(lines)), side="right") - 1
    line_of = np.asarray(line_of)
    target = start[first[line_of]] + fraction * total[line_of]
    k = np.clip(
        np.searchsorted(start[1:], target, side="right"), first[line_of], np.maximum(last[line_of], 0)
    )
    k = np.minimum(k, len(seg_len) - 1)
    t = np.where(seg_len[k] > 0, (target - start[k]) / np.maximum(seg_len[k], 1e-300), 0.0)
    xy = p0[k] + np.clip(t, 0.0, 1.0)[:, None] * (p1[k] - p0[k])
    bare = last[line_of] < first[line_of]  # a line with no segment (a point where two cells touch)
    if bare.any():
        xy[bare] = _where_bare(lines[line_of[bare]])
    return xy


def _where_bare(geoms: np.ndarray) -> np.ndarray:
    """A line with no length (a point where two shapes touch) is wholly at its centre; an empty one nowhere."""
    centre = shapely.centroid(geoms)
    return np.column_stack([shapely.get_x(centre), shapely.get_y(centre)])


def vertices(geoms: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Every vertex of the geometries densified to ``step_m``, and which geometry each came from."""
    return shapely.get_coordinates(
        shapely.segmentize(np.asarray(geoms, dtype=object), step_m), return_index=True
    )


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
