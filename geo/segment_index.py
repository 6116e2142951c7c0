"""Nearest line within a search distance for millions of points, in a metric projection.

Lines are cut into straight pieces; a lattice of cells lists, for each cell, the
pieces that could be within the search distance of any point in it. A point then
measures only its cell's candidates, with plain array arithmetic. Ties are decided
on distances rounded to the millimetre (``mm_key``), lowest line index first.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

CHUNK = 200_000


def mm_key(distance_m: NDArray) -> NDArray:
    """Distance rounded half up to whole millimetres: the tie key (``floor(d * 1000 + 0.5)`` in SQL too)."""
    return np.floor(distance_m * 1000.0 + 0.5)


class SegmentIndex:
    """Answers "which line is nearest within ``search_m``, and how far" for arrays of metric points."""

    def __init__(self, lines: ArrayLike, search_m: float, cell_m: float = 25.0):
        self.search_m = float(search_m)
        self.cell = float(cell_m)
        lines = np.asarray(lines, dtype=object)
        self.n_lines = len(lines)
        coords, owner = shapely.get_coordinates(lines, return_index=True)
        same = owner[1:] == owner[:-1]  # consecutive vertices of one line make a piece
        self.ax, self.ay = coords[:-1][same, 0], coords[:-1][same, 1]
        self.bx, self.by = coords[1:][same, 0], coords[1:][same, 1]
        self.line = owner[:-1][same]
        if self.n_lines == 0 or len(self.line) == 0:
            self.offsets = np.zeros(2, dtype=np.int64)
            self.x0 = self.y0 = 0.0
            self.nx = self.ny = 1
            self.pieces = np.zeros(0, dtype=np.int64)
            return
        r = self.search_m
        self.x0 = float(min(self.ax.min(), self.bx.min()) - r)
        self.y0 = float(min(self.ay.min(), self.by.min()) - r)
        self.nx = int((max(self.ax.max(), self.bx.max()) + r - self.x0) // self.cell) + 1
        self.ny = int((max(self.ay.max(), self.by.max()) + r - self.y0) // self.cell) + 1
        # Every cell of each piece's box grown by the search distance holds that piece.
        i0 = ((np.minimum(self.ax, self.bx) - r - self.x0) // self.cell).astype(np.int64)
        i1 = ((np.maximum(self.ax, self.bx) + r - self.x0) // self.cell).astype(np.int64)
        j0 = ((np.minimum(self.ay, self.by) - r - self.y0) // self.cell).astype(np.int64)
        j1 = ((np.maximum(self.ay, self.by) + r - self.y0) // self.cell).astype(np.int64)
        wi, wj = i1 - i0 + 1, j1 - j0 + 1
        per = wi * wj
        piece = np.repeat(np.arange(len(per)), per)
        k = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
        cell = (j0[piece] + k // wi[piece]) * self.nx + (i0[piece] + k % wi[piece])
        order = np.argsort(cell, kind="stable")
        self.pieces = piece[order]
        self.offsets = np.searchsorted(cell[order], np.arange(self.nx * self.ny + 1)).astype(np.int64)

    def query(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Index of the nearest line within the search distance (or -1) and its distance in metres (or NaN)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        idx = np.full(len(x), -1, dtype=np.int64)
        dist = np.full(len(x), np.nan)
        for s in range(0, len(x), CHUNK):
            idx[s : s + CHUNK], dist[s : s + CHUNK] = self._query(x[s : s + CHUNK], y[s : s + CHUNK])
        return idx, dist

    def _query(self, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
        n = len(x)
        idx = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        with np.errstate(invalid="ignore"):
            ci = np.floor((x - self.x0) / self.cell)
            cj = np.floor((y - self.y0) / self.cell)
        ok = (ci >= 0) & (ci < self.nx) & (cj >= 0) & (cj < self.ny)
        cell = np.where(ok, cj * self.nx + ci, 0).astype(np.int64)
        start = self.offsets[cell]
        count = np.where(ok, self.offsets[cell + 1] - start, 0)
        has = count > 0
        if not has.any():
            return idx, dist
        pt = np.repeat(np.arange(n), count)
        first = np.cumsum(count) - count
        piece = self.pieces[np.repeat(start, count) + np.arange(count.sum()) - np.repeat(first, count)]
        d = self._distance(x[pt], y[pt], piece)
        line = self.line[piece]
        # One integer per pair orders by (millimetres, line index); beyond the search distance never wins.
        big = np.iinfo(np.int64).max
        key = np.where(d <= self.search_m, mm_key(d).astype(np.int64) * self.n_lines + line, big)
        starts = first[has]
        best = np.minimum.reduceat(key, starts)
        found = best != big
        rows = np.flatnonzero(has)[found]
        idx[rows] = best[found] % self.n_lines
        # The distance to the chosen line is the least over its pieces.
        chosen = np.repeat(np.where(has, idx, -1), count)
        dd = np.where(line == chosen, d, np.inf)
        dist_has = np.minimum.reduceat(dd, starts)
        dist[rows] = dist_has[found]
        return idx, dist

    def _distance(self, px: NDArray, py: NDArray, piece: NDArray) -> NDArray:
        ax, ay, bx, by = self.ax[piece], self.ay[piece], self.bx[piece], self.by[piece]
        dx, dy = bx - ax, by - ay
        len2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(len2 > 0, ((px - ax) * dx + (py - ay) * dy) / len2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        return np.hypot(px - (ax + t * dx), py - (ay + t * dy))
