"""Grids redrawn a year on: only what drifted out of band changes, and the report says what moved.

Boundary buildings move between neighbouring grids first; then a grid far too big is split, and where
growth (or loss) spans several grids, a grid is redrawn together with its neighbours. In-band grids
whose buildings do not change keep their codes; the rest take the next free codes.
"""

from __future__ import annotations

import math
from itertools import combinations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.partition.balance import refine
from geo.partition.bisection import Bisector
from geo.partition.contiguity import absorb_empty, make_contiguous
from geo.partition.model import Cells, Partition, PartitionError, band
from geo.partition.prepare import metric, prepare
from geo.partition.report import finish


def resplit_grids(
    buildings: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    boundary: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    households_field: str = "households",
    target: int = 500,
    tolerance: float = 0.1,
    current: pd.Series | None = None,
) -> Partition:
    """Change only what is out of band: split oversize grids, merge undersize ones, move boundary buildings.

    ``current`` (building index → grid id), when known, says which grid each building is in now.

    In-band grids whose buildings do not change keep their codes; changed or new grids take the next free
    codes. The report adds stability (buildings and grids kept) and every building that moved.
    """
    if "id" not in grids.columns:
        raise PartitionError("existing grids need an 'id' column")
    boundary = grids.geometry if boundary is None else boundary
    c = prepare(buildings, boundary, roads, households_field)
    old = grids.to_crs(c.epsg).reset_index(drop=True)
    old_ids = old["id"].astype(str).tolist()
    # What each cell was before anything moved: a grid is unchanged only if it ends with exactly these cells.
    before = _present_grids(c, old, old_ids, current)
    grid_of = _rebalance(c, before, len(old), target, tolerance)
    grid_labels = np.unique(grid_of)
    parts = [np.flatnonzero(grid_of == g) for g in grid_labels]
    unchanged = {
        g
        for g, p in zip(grid_labels, parts, strict=True)
        if g < len(old) and np.array_equal(np.flatnonzero(before == g), p)
    }
    new_codes = iter(_next_codes(old_ids, len(parts) - len(unchanged)))
    ids = [old_ids[g] if g in unchanged else next(new_codes) for g in grid_labels]
    result = finish(c, parts, ids, target, tolerance)
    old_assignment = _old_grids(buildings, old, old_ids, c, current)
    kept_codes = [old_ids[g] for g in unchanged]
    result.report.update(_stability(result.assignments, old_assignment, c, kept_codes, len(old)))
    return result


def _present_grids(
    c: Cells, old: gpd.GeoDataFrame, old_ids: list[str], current: pd.Series | None
) -> np.ndarray:
    """Each cell's grid now (its position in ``old``): the old grid holding a point inside it (the lowest
    grid on a shared edge), else the nearest; the known grid of its building where ``current`` says."""
    anchors = shapely.points(c.xy)
    ci, gi = shapely.STRtree(old.geometry.values).query(anchors, predicate="intersects")
    grid_of = np.full(len(c.cells), -1)
    for cell, g in sorted(zip(ci, gi, strict=True), reverse=True):
        grid_of[cell] = g
    lost = np.flatnonzero(grid_of < 0)
    if len(lost):
        grid_of[lost] = shapely.STRtree(old.geometry.values).query_nearest(anchors[lost])[1][: len(lost)]
    if current is not None:
        # Where the buildings' present grids are known (the database), they are the truth, not geometry.
        position = {gid: i for i, gid in enumerate(old_ids)}
        known = current.reindex(c.index).map(position).to_numpy()
        built = np.flatnonzero(c.owner >= 0)
        has = ~pd.isna(known[c.owner[built]])
        grid_of[built[has]] = known[c.owner[built[has]]].astype(int)
    return grid_of


def _rebalance(c: Cells, before: np.ndarray, n_old: int, target: int, tolerance: float) -> np.ndarray:
    """Each cell's grid after the re-split; grids split or redrawn take labels from ``n_old`` on."""
    r = _Rebalance(c, make_contiguous(before, c), n_old, target, tolerance)
    # First let boundary buildings move between neighbours; only then split what is still far too big.
    r.settle()
    r.split_oversize()
    r.settle()
    for _ in range(3):
        # Where growth (or loss) spans several grids, redraw that grid with its neighbours as one more (or less).
        bad = r.out_of_band()
        if not bad:
            break
        r.redraw_regions(bad)
        r.settle()
    return make_contiguous(absorb_empty(r.grid_of, c), c)


class _Rebalance:
    """A re-split under way: each cell's grid, and the next free label for a grid split or redrawn."""

    def __init__(self, c: Cells, grid_of: np.ndarray, next_label: int, target: int, tolerance: float) -> None:
        self.c, self.grid_of, self.next_label = c, grid_of, next_label
        self.target, self.tolerance = target, tolerance
        self.lo, self.hi = band(target, tolerance)
        self.bisector = Bisector(c, target, tolerance)

    def settle(self) -> None:
        """Boundary buildings moved towards the band, never pushing an in-band grid out of it."""
        self.grid_of = refine(
            self.grid_of, self.c, self.target, self.tolerance, near_weight=0.0, keep_band=True
        )

    def _households(self) -> np.ndarray:
        return np.bincount(self.grid_of, weights=self.c.hh, minlength=self.next_label)

    def _split(self, members: np.ndarray, k: int, keep_first: bool) -> None:
        """Split ``members`` into ``k`` new grids (the first keeping its label if ``keep_first``)."""
        parts = self.bisector.split(members, k)
        for part in parts[1:] if keep_first else parts:
            self.grid_of[part] = self.next_label
            self.next_label += 1

    def split_oversize(self) -> None:
        """Split each grid too big to be in band, into parts that can be."""
        lo, hi, target = self.lo, self.hi, self.target
        for g in np.unique(self.grid_of):
            members = np.flatnonzero(self.grid_of == g)
            h = self.c.hh[members].sum()
            # Split only into parts that can be in band; a grid a little over sheds buildings in refinement.
            if h <= hi or h < 2 * lo:
                continue
            k = int(min(max(round(h / target), math.ceil(h / hi)), math.floor(h / lo)))
            self._split(members, k, keep_first=True)

    def out_of_band(self) -> list[int]:
        """The grids outside the band."""
        gh = self._households()
        return [g for g in np.unique(self.grid_of) if not self.lo <= gh[g] <= self.hi]

    def redraw_regions(self, bad: list[int]) -> None:
        """Redraw each grid out of band with the fewest neighbours that make grids in band (each grid in one
        region at most)."""
        grid_of, a, b = self.grid_of, self.c.a, self.c.b
        done: set[int] = set()
        for g in bad:
            if g in done:
                continue
            touching = np.concatenate([grid_of[b][grid_of[a] == g], grid_of[a][grid_of[b] == g]])
            neighbours = sorted(set(np.unique(touching).tolist()) - done - {int(g)})
            region_grids = _smallest_region(
                int(g), neighbours, self._households(), self.target, self.lo, self.hi
            )
            if region_grids is None:
                continue
            members = np.flatnonzero(np.isin(grid_of, list(region_grids)))
            k = max(1, int(round(self.c.hh[members].sum() / self.target)))
            self._split(members, k, keep_first=False)
            done |= region_grids


def _smallest_region(
    g: int, neighbours: list[int], gh: np.ndarray, target: float, lo: float, hi: float
) -> set[int] | None:
    """The fewest grids around ``g`` (it and one or two neighbours) whose households redraw into grids in band."""
    best = None
    for size in (1, 2):
        for combo in combinations(neighbours, size):
            total = gh[g] + gh[list(combo)].sum()
            k = max(1, int(round(total / target)))
            if k == size + 1 or not lo <= total / k <= hi:
                continue
            score = abs(total / k - target)
            if best is None or score < best[0]:
                best = (score, {g, *combo})
        if best is not None:
            return best[1]
    return None


def _next_codes(existing: list[str], n: int) -> list[str]:
    """New codes after the highest existing one under the same prefix (community code + number)."""
    stem = existing[0][:-2] if existing and all(e[-2:].isdigit() for e in existing) else "G"
    used = [int(e[-2:]) for e in existing if e.startswith(stem) and e[-2:].isdigit()]
    start = max(used, default=0) + 1
    width = max(2, len(existing[0]) - len(stem) if existing else 2, len(str(start + n)))
    return [f"{stem}{k:0{width}d}" for k in range(start, start + n)]


def _handover(old_assignment: np.ndarray, new_assignment: np.ndarray, hh: np.ndarray) -> pd.DataFrame:
    """Households going from each old grid to each new one, and their share of the old grid's."""
    mapping = (
        pd.DataFrame({"old_grid": old_assignment, "new_grid": new_assignment, "households": hh})
        .groupby(["old_grid", "new_grid"])["households"]
        .sum()
        .reset_index()
    )
    mapping["share"] = mapping["households"] / mapping.groupby("old_grid")["households"].transform("sum")
    return mapping


def _stability(
    assignments: pd.Series, old_assignment: np.ndarray, c: Cells, kept_codes: list[str], n_old: int
) -> dict:
    """What the re-split kept (buildings with their grid, codes, whole grids), every move, and the handover."""
    new_assignment = assignments.to_numpy()
    moved = new_assignment != old_assignment
    mapping = _handover(old_assignment, new_assignment, c.building_hh)
    # A grid that changes becomes a new version under a new code; the new grid that took most of its
    # households continues it. A building keeps its grid when it stays with that continuation.
    successor = (
        mapping.sort_values(["old_grid", "households", "new_grid"]).groupby("old_grid")["new_grid"].last()
    )
    had = pd.notna(old_assignment)
    stayed = new_assignment[had] == pd.Series(old_assignment[had]).map(successor).to_numpy()
    return {
        "buildings_kept_share": float(stayed.mean()) if had.any() else 1.0,
        "buildings_same_code_share": float(1 - moved[had].mean()) if had.any() else 1.0,
        "grids_unchanged_share": len(kept_codes) / max(n_old, 1),
        "unchanged": sorted(kept_codes),
        "moves": [
            {"building": str(c.index[i]), "from": old_assignment[i], "to": assignments.iloc[i]}
            for i in np.flatnonzero(moved).tolist()
        ],
        "mapping": mapping.to_dict("records"),
    }


def _old_grids(
    buildings: gpd.GeoDataFrame,
    old: gpd.GeoDataFrame,
    old_ids: list[str],
    c: Cells,
    current: pd.Series | None,
) -> np.ndarray:
    """Each building's grid before the re-split (None for a new one): the known one, else the old grid holding
    its footprint (what moved is reported against this)."""
    out = np.full(len(c.building_hh), None, dtype=object)
    inside = shapely.point_on_surface(metric(buildings.geometry, c.epsg).values)
    bi, gi = shapely.STRtree(old.geometry.values).query(inside, predicate="intersects")
    out[bi[::-1]] = np.asarray(old_ids, dtype=object)[gi[::-1]]  # the lowest grid where two share an edge
    if current is not None:
        known = current.reindex(c.index).to_numpy(dtype=object)
        out = np.where(pd.notna(known), known, out)
    return out


def _areal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (an intersection can add stray lines and points), as one geometry."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def fit_around(
    kept: list[shapely.Geometry], changed: list[shapely.Geometry], parent: shapely.Geometry
) -> list[shapely.Geometry]:
    """Shapes for ``changed`` grids that tile ``parent`` together with ``kept`` grids' stored shapes.

    A re-split keeps unchanged grids as they are stored; the changed grids, drawn from the
    tessellation, are clipped to the space the kept ones leave, and any sliver of that space
    no changed grid covers goes to the changed grid it shares the longest edge with.
    All in one metric CRS.
    """
    if not changed:
        return []
    free = parent.difference(shapely.union_all(kept)) if kept else parent
    shapes = [_areal(g.intersection(free)) for g in changed]
    for piece in shapely.get_parts(_areal(free.difference(shapely.union_all(shapes)))):
        shared = [piece.boundary.intersection(s.boundary).length for s in shapes]
        best = (
            int(np.argmax(shared)) if max(shared) > 0 else int(np.argmin([s.distance(piece) for s in shapes]))
        )
        shapes[best] = _areal(shapes[best].union(piece))
    return [_areal(shapely.make_valid(s)) for s in shapes]
