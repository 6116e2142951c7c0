"""Point-in-polygon for millions of points: a cell lookup table with an exact fallback near edges.

The area is cut into a fine lattice of cells. A cell that no polygon edge touches lies
wholly inside one polygon (or none), so every point in it gets that answer by a
single array read. Only points in cells an edge passes near are tested exactly with
GEOS ``covers``, which is where boundary ties are decided. The answer is the same
as testing every point exactly; most points just never need the test.

Tie rule (documented in the README): a point covered by several polygons (on a shared
edge or vertex, or inside an overlap) belongs to the one with the lowest index; callers
sort polygons by id, so the lowest id wins, as ``ORDER BY id LIMIT 1`` does in PostGIS.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from rasterio.features import rasterize

BOUNDARY = -2
NONE = -1
DEFAULT_MAX_CELLS = 1 << 26  # 64 M cells: 128 MB as int16, the usual case


class PolygonIndex:
    """Answers "which polygon covers this point" for arrays of points, lowest index first on ties."""

    def __init__(self, polygons: ArrayLike, max_cells: int = DEFAULT_MAX_CELLS, min_cell: float = 2e-6):
        self.polygons = np.asarray(polygons, dtype=object)
        shapely.prepare(self.polygons)
        self.tree = shapely.STRtree(self.polygons)
        if len(self.polygons) == 0:
            self.table = np.full((1, 1), NONE, dtype=np.int32)
            self.x0, self.y0, self.cell = 0.0, 0.0, 1.0
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.polygons)
        cell = max(math.sqrt((maxx - minx) * (maxy - miny) / max_cells), min_cell)
        # Two spare cells on every side, so points on the outermost edges still fall inside the table.
        self.cell = cell
        self.x0, self.y0 = minx - 2 * cell, maxy + 2 * cell
        width = int(math.ceil((maxx - minx) / cell)) + 4
        height = int(math.ceil((maxy - miny) / cell)) + 4
        transform = Affine(cell, 0.0, self.x0, 0.0, -cell, self.y0)
        # Lowest index drawn last, so it wins wherever polygons overlap.
        order = range(len(self.polygons) - 1, -1, -1)
        dtype = "int16" if len(self.polygons) < np.iinfo(np.int16).max - 1 else "int32"
        labels = rasterize(
            ((self.polygons[i], i + 1) for i in order),
            out_shape=(height, width),
            transform=transform,
            fill=0,
            dtype=dtype,
        )
        edges = rasterize(
            ((ring, 1) for ring in shapely.boundary(self.polygons)),
            out_shape=(height, width),
            transform=transform,
            fill=0,
            all_touched=True,
            dtype="uint8",
        ).astype(bool)
        near = edges.copy()  # grow by one cell: GDAL's line drawing may miss a corner it only grazes
        near[1:] |= edges[:-1]
        near[:-1] |= edges[1:]
        grown = near.copy()
        grown[:, 1:] |= near[:, :-1]
        grown[:, :-1] |= near[:, 1:]
        labels -= 1
        labels[grown] = BOUNDARY
        self.table = labels

    @property
    def boundary_share(self) -> float:
        """Share of cells that need the exact test (a measure of how fine the table is)."""
        return float((self.table == BOUNDARY).mean())

    def query(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.int64]:
        """Index of the covering polygon for each point, or -1; NaN coordinates give -1."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        out = np.full(x.shape, NONE, dtype=np.int64)
        if len(self.polygons) == 0 or x.size == 0:
            return out
        h, w = self.table.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.cell)
            row = np.floor((self.y0 - y) / self.cell)
            inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        idx = np.flatnonzero(inside)
        codes = self.table[row[idx].astype(np.int64), col[idx].astype(np.int64)]
        out[idx] = codes
        exact = idx[codes == BOUNDARY]
        out[exact] = self.exact(x[exact], y[exact])
        return out

    def exact(self, x: NDArray, y: NDArray) -> NDArray[np.int64]:
        """The exact answer by GEOS ``covers`` on the bounding-box candidates (the slow, sure path)."""
        out = np.full(len(x), np.iinfo(np.int64).max, dtype=np.int64)
        if len(x) == 0:
            return out
        points = shapely.points(x, y)
        pi, gi = self.tree.query(points)
        hit = shapely.covers(self.polygons[gi], points[pi])
        np.minimum.at(out, pi[hit], gi[hit])
        out[out == np.iinfo(np.int64).max] = NONE
        return out
