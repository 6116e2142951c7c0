"""Grids redrawn a year on: only what drifted out of band changes, and the report says what moved.

Boundary buildings move between neighbouring grids first; then a grid far too big is split, and where
growth (or loss) spans several grids, a grid is redrawn together with its neighbours. In-band grids
whose buildings do not change keep their codes; the rest take the next free codes.
"""

from __future__ import annotations

import math
import os
from itertools import combinations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.partition.balance import refine
from geo.partition.bisection import Bisector
from geo.partition.contiguity import absorb_empty
from geo.partition.keep import apart, as_before, grid_communities, judge, whole
from geo.partition.model import Cells, Partition, PartitionError, band
from geo.partition.prepare import metric, prepare
from geo.partition.report import finish, polsby_popper
from geo.polygons import MIN_PART_M2


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
    mend_pieces: bool = True,
) -> Partition:
    """Change only what is out of band: split oversize grids, merge undersize ones, move boundary buildings.

    ``current`` (building index → grid id), when known, says which grid each building is in now; without it,
    the buildings' ``grid_id`` column does, where it has one (a building without one is new).

    In-band grids whose buildings do not change keep their codes; changed or new grids take the next free
    codes. The report adds stability (buildings and grids kept) and every building that moved.

    A grid that came in pieces is made whole (``mend_pieces``: what is written must be one polygon per grid),
    and the re-split is judged against that; with ``mend_pieces`` False (the database, where a kept grid is
    not written again) it is made whole only where that makes its community no worse.
    """
    if "id" not in grids.columns:
        raise PartitionError("existing grids need an 'id' column")
    boundary = grids.geometry if boundary is None else boundary
    old_ids = grids["id"].astype(str).tolist()
    if current is None and "grid_id" in buildings.columns:
        current = buildings["grid_id"].where(buildings["grid_id"].isin(old_ids))
    in_grid = _old_grids(buildings, grids.reset_index(drop=True), old_ids, current)
    community = grid_communities(grids, buildings, in_grid, old_ids)
    # The old grids' outlines cut the cells as roads do: each cell lies in one old grid (and community),
    # so a grid kept as it was is exactly its cells, and the changed ones fit around it.
    walls = grids.geometry.reset_index(drop=True).boundary
    c = prepare(buildings, boundary, roads, households_field, walls=walls)
    old = grids.to_crs(c.epsg).reset_index(drop=True)
    # What each cell was before anything moved: a grid is unchanged only if it ends with exactly these cells.
    before = _present_grids(c, old, old_ids, in_grid)
    groups = np.full(len(before), "") if community is None else community[before].astype(str)
    if community is not None:
        c = apart(c, groups)
    single = shapely.get_num_geometries(old.geometry.values) == 1
    fresh_cells = _new_buildings(c, current)
    grid_of, unimproved = _judged(c, before, single, fresh_cells, groups, target, tolerance, mend_pieces)
    grid_labels = np.unique(grid_of)
    parts = [np.flatnonzero(grid_of == g) for g in grid_labels]
    # Unchanged: the same cells (and, when pieces are mended, one piece).
    unchanged = set(as_before(grid_of, before, single | ~mend_pieces, fresh_cells).tolist())
    ids = _codes(grid_of, before, unchanged, old_ids, community)
    result = finish(c, parts, ids, target, tolerance)
    kept_codes = [old_ids[g] for g in unchanged]
    result.grids = _kept_shapes(result.grids, old, set(kept_codes), boundary.geometry, c.epsg)
    result.report["polsby_popper_median"] = float(result.grids["polsby_popper"].median())
    result.report.update(_stability(result.assignments, in_grid, c, kept_codes, len(old)))
    result.report["unimproved"] = _why_not(unimproved, old_ids, c, grid_of, target, tolerance)
    result.report["mended"] = [old_ids[g] for g in np.flatnonzero(~single)] if mend_pieces else []
    return result


def _codes(
    grid_of: np.ndarray,
    before: np.ndarray,
    unchanged: set[int],
    old_ids: list[str],
    community: np.ndarray | None,
) -> list[str]:
    """Each grid's code (in label order): its old one if unchanged, else the next free one (``_next_codes``)
    under its community, which is its cells' (all one: cells of two communities are never neighbours)."""
    grid_labels = np.unique(grid_of)
    fresh = [g for g in grid_labels if g not in unchanged]
    fresh_community = [None if community is None else community[before[grid_of == g][0]] for g in fresh]
    new_code = dict(zip(fresh, _next_codes(old_ids, fresh_community), strict=True))
    return [old_ids[g] if g in unchanged else new_code[g] for g in grid_labels]


def _new_buildings(c: Cells, current: pd.Series | None) -> np.ndarray:
    """Cells of buildings without a grid yet (known only with ``current``): their grid changes even if
    nothing moves."""
    if current is None:
        return np.zeros(len(c.cells), dtype=bool)
    new_building = current.reindex(c.index).isna().to_numpy()
    return (c.owner >= 0) & new_building[np.maximum(c.owner, 0)]


def _judged(
    c: Cells,
    before: np.ndarray,
    single: np.ndarray,
    fresh: np.ndarray,
    groups: np.ndarray,
    target: int,
    tolerance: float,
    mend: bool,
) -> tuple[np.ndarray, list[dict]]:
    """The re-split each community keeps (``keep.judge``): the full one, else boundary moves only, else
    none, each judged against the grids as they were (``mend``: made whole first)."""
    n_old = len(single)
    fit = band(target, tolerance)
    base = whole(before, c, before, single, fresh, fit)

    def rebalanced(redraw: bool) -> np.ndarray:
        after = _rebalance(c, base, n_old, target, tolerance, redraw=redraw)
        return whole(after, c, before, single, fresh, fit)

    candidates = [lambda: rebalanced(True), lambda: rebalanced(False)]
    return judge(base if mend else before, base, candidates, groups, c.hh, fit, n_old)


def _kept_shapes(
    new: gpd.GeoDataFrame, old: gpd.GeoDataFrame, kept: set[str], parent: gpd.GeoSeries, epsg: int
) -> gpd.GeoDataFrame:
    """Unchanged grids keep the shapes they came with (cells only approximate an outline drawn by hand);
    the changed ones fill the rest of the parent (``fit_around``).

    The fitting is done in the output's own CRS, on the kept shapes' very coordinates: fitted in metres
    and reprojected, an edge shared with a kept grid moved by 1e-12° and could cross itself.
    """
    if not kept:
        return new
    old_out = old.to_crs(new.crs).set_index("id").geometry
    is_kept = new["id"].isin(kept).to_numpy()
    shapes = new.geometry.to_numpy().copy()
    shapes[is_kept] = old_out.reindex(new["id"][is_kept]).to_numpy()
    outline = shapely.union_all(parent.to_crs(new.crs).values)
    min_area = MIN_PART_M2 / _square_metres_per_unit(new, epsg)
    shapes[~is_kept] = fit_around(list(shapes[is_kept]), list(shapes[~is_kept]), outline, min_area)
    out = new.set_geometry(shapes)
    out["polsby_popper"] = np.round(polsby_popper(out.geometry.to_crs(epsg).values), 4)
    return out


def _square_metres_per_unit(frame: gpd.GeoDataFrame, epsg: int) -> float:
    """Square metres in one square unit of ``frame``'s CRS near its data (1 for a metric CRS)."""
    box = shapely.box(*frame.total_bounds)
    metric_area = gpd.GeoSeries([box], crs=frame.crs).to_crs(epsg).area.iloc[0]
    return float(metric_area / box.area) if box.area > 0 else 1.0


def _present_grids(c: Cells, old: gpd.GeoDataFrame, old_ids: list[str], in_grid: np.ndarray) -> np.ndarray:
    """Each cell's grid now (its position in ``old``): its building's (``in_grid``, by the footprint or as
    known); for a cell without one, the old grid holding a point inside it (the lowest on a shared edge),
    else the nearest."""
    anchors = shapely.points(c.xy)
    ci, gi = shapely.STRtree(old.geometry.values).query(anchors, predicate="intersects")
    grid_of = np.full(len(c.cells), -1)
    for cell, g in sorted(zip(ci, gi, strict=True), reverse=True):
        grid_of[cell] = g
    lost = np.flatnonzero(grid_of < 0)
    if len(lost):
        grid_of[lost] = shapely.STRtree(old.geometry.values).query_nearest(anchors[lost])[1][: len(lost)]
    position = {gid: i for i, gid in enumerate(old_ids)}
    known = pd.Series(in_grid).map(position).to_numpy()
    built = np.flatnonzero(c.owner >= 0)
    has = ~pd.isna(known[c.owner[built]])
    grid_of[built[has]] = known[c.owner[built[has]]].astype(int)
    return grid_of


def _rebalance(
    c: Cells, before: np.ndarray, n_old: int, target: int, tolerance: float, *, redraw: bool
) -> np.ndarray:
    """Each cell's grid after the re-split; grids split or redrawn take labels from ``n_old`` on
    (``redraw`` False: boundary buildings moved only)."""
    r = _Rebalance(c, before.copy(), n_old, target, tolerance)
    # First let boundary buildings move between neighbours; only then split what is still far too big.
    r.settle()
    if not redraw:
        return absorb_empty(r.grid_of, c)
    r.split_oversize()
    r.settle()
    for _ in range(3):
        # Where growth (or loss) spans several grids, redraw that grid with its neighbours as one more (or less).
        bad = r.out_of_band()
        if not bad:
            break
        r.redraw_regions(bad)
        r.settle()
    return absorb_empty(r.grid_of, c)


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


def _next_codes(existing: list[str], owners: list[str | None]) -> list[str]:
    """A new code for each new grid: under its own community (``owners``), the community's id and the next
    number after the highest existing code under it; without one, the existing codes' shared prefix and the
    next number after the highest (``G01``… when they share none)."""
    shared = os.path.commonprefix(existing)[: max(len(min(existing, key=len)) - 2, 0)] if existing else ""
    shared = shared if shared and all(e[len(shared) :].isdigit() for e in existing) else "G"
    counters: dict[str, int] = {}
    out = []
    for owner in owners:
        stem = shared if owner is None else owner
        if stem not in counters:
            used = [int(e[len(stem) :]) for e in existing if e.startswith(stem) and e[len(stem) :].isdigit()]
            counters[stem] = max(used, default=0)
        counters[stem] += 1
        out.append(f"{stem}{counters[stem]:02d}")
    return out


def _why_not(
    unimproved: list[dict], old_ids: list[str], c: Cells, grid_of: np.ndarray, target: int, tolerance: float
) -> list[dict]:
    """Each community left as it was though some of its grids are out of band, and why."""
    _, hi = band(target, tolerance)
    out = []
    for note in unimproved:
        biggest = max(c.hh[grid_of == g].max(initial=0) for g in note["grids"])
        why = (
            "一栋楼超出上限 one building has more households than the upper bound"
            if biggest > hi
            else "每种调整都会使在带网格出带或降低在带比例 every change tried would push an in-band grid "
            "out of band or lower the share of grids in band"
        )
        out.append(
            {"community": note["community"], "grids": [old_ids[g] for g in note["grids"]], "reason": why}
        )
    return out


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
    current: pd.Series | None,
) -> np.ndarray:
    """Each building's grid before the re-split (None for a new one): the known one, else the old grid holding
    its footprint (what moved is reported against this)."""
    out = np.full(len(buildings), None, dtype=object)
    inside = shapely.point_on_surface(metric(buildings.geometry, old.crs).values)
    bi, gi = shapely.STRtree(old.geometry.values).query(inside, predicate="intersects")
    out[bi[::-1]] = np.asarray(old_ids, dtype=object)[gi[::-1]]  # the lowest grid where two share an edge
    if current is not None:
        known = current.reindex(buildings.index).to_numpy(dtype=object)
        out = np.where(pd.notna(known), known, out)
    return out


def _areal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (an intersection can add stray lines and points), as one geometry."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def fit_around(
    kept: list[shapely.Geometry],
    changed: list[shapely.Geometry],
    parent: shapely.Geometry,
    min_area: float = MIN_PART_M2,
) -> list[shapely.Geometry]:
    """Shapes for ``changed`` grids that tile ``parent`` together with ``kept`` grids' stored shapes.

    A re-split keeps unchanged grids as they are stored; the changed grids, drawn from the
    tessellation, are clipped to the space the kept ones leave, and any sliver of that space
    no changed grid covers goes to the changed grid it shares the longest edge with.
    All in one CRS; ``min_area`` (a square metre by default) in its square units.
    """
    if not changed:
        return []
    free = parent.difference(shapely.union_all(kept)) if kept else parent
    # Each changed grid keeps the largest piece clipping leaves it; the rest joins the free space left over.
    shapes = [_largest(_areal(g.intersection(free))) for g in changed]
    for piece in shapely.get_parts(_areal(free.difference(shapely.union_all(shapes)))):
        shared = [piece.boundary.intersection(s.boundary).length for s in shapes]
        best = (
            int(np.argmax(shared)) if max(shared) > 0 else int(np.argmin([s.distance(piece) for s in shapes]))
        )
        shapes[best] = _areal(shapes[best].union(piece))
    return [_without_seams(s, min_area) for s in shapes]


def _without_seams(geom: shapely.Geometry, min_area: float) -> shapely.Geometry:
    """Parts and holes below ``min_area`` left out: seams where the cells' outline meets a kept grid's a
    hair apart (1e-10 m²), not land."""
    parts = [p for p in shapely.get_parts(geom) if p.area >= min_area] or [_largest(geom)]
    solid = [
        shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= min_area])
        for p in parts
    ]
    return solid[0] if len(solid) == 1 else shapely.MultiPolygon(solid)


def _largest(geom: shapely.Geometry) -> shapely.Geometry:
    parts = list(shapely.get_parts(geom))
    return max(parts, key=lambda p: p.area) if parts else geom
