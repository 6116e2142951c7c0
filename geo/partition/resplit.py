"""Drawing grids of about 500 households: a tessellation around the buildings, cut by recursive bisection.

Pure computation: frames in, frames out, no database.

1. The parent is cut into blocks by the roads, and each block into one cell per
   building (a Voronoi tessellation of points along the footprints, so each cell
   holds its whole footprint). Grids are unions of cells, so they tile the parent
   exactly and never cut a building.
2. The cells are split in two, again and again, until each part should hold one
   grid: each split is a straight sweep at one of several angles, choosing, among
   the cuts that divide the households in the right proportion, the one whose
   boundary runs most along roads and is shortest (compact grids); a part must stay
   in one piece.
3. Boundary buildings move between neighbouring grids, first to bring grids into the
   band, then to shorten the boundary between grids (compact grids, priced against
   balance); small coarse inputs also try nearby counts of grids.
4. Each grid's households, compactness (Polsby–Popper) and band are reported, and
   every grid that cannot be in band says why. Buildings too big for one grid may be
   split by their units first (``geo.units``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.ops import polygonize, unary_union

from geo.coords import utm_epsg
from geo.sampling import near, points_along, sample_lines, vertices
from geo.units import collapse, split_by_units

ANGLES = np.deg2rad(np.arange(0, 180, 15))
SAMPLE_M = 4.0  # spacing of points along a footprint for the tessellation
ROAD_NEAR_M = 15.0
BALANCE_PRICE = 0.02  # metres of grid boundary saved that justify one squared household off target
COARSE_CELLS = 5000  # up to this many cells, other counts of grids are tried when some end out of band


class PartitionError(ValueError):
    """Input that cannot be partitioned (no area, buildings outside the parent, negative households)."""


@dataclass
class Partition:
    """Grids (id, households, n_buildings, polsby_popper, in_band, geometry) and each building's grid."""

    grids: gpd.GeoDataFrame
    assignments: pd.Series
    report: dict = field(default_factory=dict)
    units: pd.DataFrame | None = (
        None  # buildings split by units: building, unit_from, unit_to, households, grid_id
    )


def _metric(frame: gpd.GeoDataFrame | gpd.GeoSeries, epsg: int):
    if frame.crs is None:
        raise PartitionError("input has no CRS; say what its coordinates are")
    return frame.to_crs(epsg)


def _blocks(parent, roads: gpd.GeoSeries | None) -> list:
    if roads is None or len(roads) == 0:
        return list(getattr(parent, "geoms", [parent]))
    lines = [parent.boundary] + [g for g in roads.intersection(parent).values if not g.is_empty]
    faces = [f for f in polygonize(unary_union(lines)) if parent.covers(f.representative_point())]
    return faces or list(getattr(parent, "geoms", [parent]))


def _merge_blocks_under_buildings(blocks: list, footprints: np.ndarray) -> list:
    """A road line drawn through a building is no place to cut: the blocks on both sides become one."""
    arr = np.asarray(blocks, dtype=object)
    fi, bi = shapely.STRtree(arr).query(footprints, predicate="intersects")
    overlap = shapely.area(shapely.intersection(footprints[fi], arr[bi])) > 1e-6
    fi, bi = fi[overlap], bi[overlap]
    parent = list(range(len(arr)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_block: dict[int, int] = {}
    for f, b in zip(fi, bi, strict=True):
        if f in first_block:
            ra, rb = root(first_block[f]), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        else:
            first_block[f] = b
    groups: dict[int, list] = {}
    for i in range(len(arr)):
        groups.setdefault(root(i), []).append(arr[i])
    return [g[0] if len(g) == 1 else shapely.union_all(g) for _, g in sorted(groups.items())]


def _shift(geoms, offset: np.ndarray):
    return shapely.transform(geoms, lambda c: c + offset)


def _footprint_samples(footprints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``SAMPLE_M`` (at least 4) around each footprint, and the footprint each belongs to."""
    rings = shapely.boundary(footprints)
    n = np.maximum(4, (shapely.length(rings) / SAMPLE_M).astype(int))
    owner = np.repeat(np.arange(len(footprints)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    fraction = (np.arange(len(owner)) - start) / n[owner]
    return shapely.points(points_along(rings, owner, fraction)), owner


def _union_by(geoms: np.ndarray, label: np.ndarray, n: int) -> np.ndarray:
    """The union of the geometries of each label 0..n-1, in a few vectorised calls (rows of equal length
    together) rather than one call per label."""
    order = np.argsort(label, kind="stable")
    count = np.bincount(label, minlength=n)
    start = np.cumsum(count) - count
    out = np.empty(n, dtype=object)
    for k in np.unique(count[count > 0]):
        rows = np.flatnonzero(count == k)
        take = order[start[rows][:, None] + np.arange(k)]
        out[rows] = shapely.union_all(geoms[take], axis=1)
    return out


def _block_cells(
    block, members: np.ndarray, member_fp: np.ndarray, seeds: np.ndarray, seed_owner: np.ndarray
) -> np.ndarray:
    """The cells of one block holding several buildings (``members``, ascending, and their footprints):
    each building's Voronoi pieces and its footprint."""
    # GEOS's Voronoi loses precision at UTM magnitudes (millions of metres) and returns overlapping
    # cells: build it around the block's own origin and move it back.
    origin = np.array([block.centroid.x, block.centroid.y])
    vor = shapely.voronoi_polygons(
        shapely.multipoints(_shift(seeds, -origin)), extend_to=_shift(block, -origin)
    )
    pieces = _shift(np.asarray(shapely.get_parts(vor), dtype=object), origin)
    pieces = shapely.intersection(shapely.make_valid(pieces), block)
    # Voronoi output order is not the input order: match pieces to seeds by containment.
    si, pi = shapely.STRtree(pieces).query(seeds, predicate="intersects")
    first = np.full(len(pieces), -1)
    hit, at = np.unique(pi[::-1], return_index=True)  # each piece's lowest seed
    first[hit] = seed_owner[si[::-1][at]]
    found = first >= 0
    parts = np.concatenate([pieces[found], shapely.intersection(member_fp, block)])
    part_of = np.concatenate([np.searchsorted(members, first[found]), np.arange(len(members))])
    block_cells = _union_by(parts, part_of, len(members))
    # Another footprint reaching into a cell stays with its own building.
    ci, fj = shapely.STRtree(member_fp).query(block_cells, predicate="intersects")
    other = ci != fj
    for c in np.unique(ci[other]):
        block_cells[c] = block_cells[c].difference(shapely.union_all(member_fp[fj[other & (ci == c)]]))
    # Whatever the cells missed (seams of the Voronoi diagram) goes to the cell it shares most edge with.
    # The cells are disjoint, so when their areas add up to the block's there is nothing to find.
    if block.area - shapely.area(block_cells).sum() > 1e-4:
        rest = block.difference(shapely.union_all(block_cells))
        tree_cells = shapely.STRtree(block_cells)
        for part in (g for g in shapely.get_parts(rest) if g.area > 1e-6):
            cand = tree_cells.query(part, predicate="intersects")
            if len(cand) == 0:
                cand = tree_cells.query_nearest(part)
            shared = shapely.length(shapely.intersection(shapely.boundary(block_cells[cand]), part.boundary))
            k = int(cand[int(np.argmax(shared))])
            block_cells[k] = block_cells[k].union(part)
    return block_cells


def _tessellate(blocks: list, footprints: np.ndarray) -> tuple[list, np.ndarray]:
    """Cells: one per building plus one per empty block; returns cells and each cell's building (-1: none)."""
    blocks = _merge_blocks_under_buildings(blocks, footprints)
    reps = shapely.point_on_surface(footprints)
    tree = shapely.STRtree(np.asarray(blocks, dtype=object))
    b_idx, blk_idx = tree.query(reps, predicate="within")
    block_of = np.full(len(footprints), -1)
    block_of[b_idx] = blk_idx
    seed_points, seed_owner_all = _footprint_samples(footprints)
    seed_block = block_of[seed_owner_all]  # each block's seeds, in footprint order, as one slice
    seed_order = np.argsort(seed_block, kind="stable")
    seed_start = np.searchsorted(seed_block[seed_order], np.arange(len(blocks) + 1))
    members_of = [np.flatnonzero(block_of == bi) for bi in range(len(blocks))]
    seeds_of = [seed_order[seed_start[bi] : seed_start[bi + 1]] for bi in range(len(blocks))]
    # Blocks are independent: Dask's threads run them side by side (GEOS lets go of the GIL).
    block_cells = dask.compute(
        *[
            dask.delayed(_block_cells, pure=False)(
                block, members, footprints[members], seed_points[seeds], seed_owner_all[seeds]
            )
            for block, members, seeds in zip(blocks, members_of, seeds_of, strict=True)
            if len(members) > 1
        ],
        scheduler="threads",
    )
    cells, owner, done = [], [], iter(block_cells)
    for block, members in zip(blocks, members_of, strict=True):
        if len(members) <= 1:  # an empty block is a cell of its own; a block of one building is its cell
            cells.append(block)
            owner.append(int(members[0]) if len(members) else -1)
        else:
            cells.extend(next(done))
            owner.extend(members.tolist())
    return _whole_cells(cells, np.asarray(owner), footprints), np.asarray(owner)


def _whole_cells(cells: list, owner: np.ndarray, footprints: np.ndarray) -> list:
    """Make every cell one piece: stray parts join the neighbouring cell they share most edge with."""
    cells = list(cells)
    for _ in range(3):
        arr = np.asarray(cells, dtype=object)
        multi = np.flatnonzero(shapely.get_num_geometries(arr) > 1)
        if len(multi) == 0:
            break
        tree = shapely.STRtree(arr)
        for i in multi:
            parts = list(shapely.get_parts(cells[i]))
            if owner[i] >= 0:
                anchor = footprints[owner[i]].representative_point()
                keep = next((p for p in parts if p.covers(anchor)), max(parts, key=lambda p: p.area))
            else:
                keep = max(parts, key=lambda p: p.area)
            cells[i] = keep
            for part in parts:
                if part is keep:
                    continue
                cand = [j for j in tree.query(part, predicate="intersects") if j != i]
                if not cand:
                    cells[i] = cells[i].union(part)
                    continue
                shared = shapely.length(shapely.intersection(shapely.boundary(arr[cand]), part.boundary))
                j = cand[int(np.argmax(shared))]
                cells[j] = cells[j].union(part)
    return cells


def _adjacency(
    cells: np.ndarray, roads_m: gpd.GeoSeries | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of touching cells, their shared boundary length and how much of it lies off the roads."""
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
    return a, b, length, off


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


def _make_contiguous(grid_of: np.ndarray, a: np.ndarray, b: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Give every piece of a grid cut off from its main body to the neighbour it shares most edge with."""
    grid_of = grid_of.copy()
    n = len(grid_of)
    for _ in range(10):
        same = grid_of[a] == grid_of[b]
        g = coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(n, n))
        _, comp = connected_components(g, directed=False)
        size = np.bincount(comp)
        main = {}
        for cell in np.argsort(-size[comp], kind="stable"):
            main.setdefault(grid_of[cell], comp[cell])
        stray = np.array([comp[i] != main[grid_of[i]] for i in range(n)])
        if not stray.any():
            break
        for piece in np.unique(comp[stray]):
            cells = np.flatnonzero(comp == piece)
            inside = np.isin(a, cells) ^ np.isin(b, cells)
            other = np.where(np.isin(a[inside], cells), grid_of[b[inside]], grid_of[a[inside]])
            if len(other) == 0:
                continue
            weight = pd.Series(length[inside]).groupby(other).sum()
            grid_of[cells] = int(weight.idxmax())
    return grid_of


def _absorb_empty(
    grid_of: np.ndarray, hh: np.ndarray, a: np.ndarray, b: np.ndarray, length: np.ndarray, cells: np.ndarray
) -> np.ndarray:
    """A grid with no households (a park, a site) joins the neighbour it shares most edge with."""
    grid_of = grid_of.copy()
    gh = pd.Series(hh).groupby(grid_of).sum()
    for g in gh.index[gh == 0]:
        mine = grid_of == g
        inside = mine[a] ^ mine[b]
        if inside.any():
            other = np.where(mine[a[inside]], grid_of[b[inside]], grid_of[a[inside]])
            grid_of[mine] = int(pd.Series(length[inside]).groupby(other).sum().idxmax())
        elif (~mine).any():  # touching only at corners: the nearest cell's grid
            rest = np.flatnonzero(~mine)
            near = shapely.STRtree(cells[rest]).query_nearest(shapely.union_all(cells[mine]))[0]
            grid_of[mine] = grid_of[rest[near]]
    return grid_of


def _connected(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    idx = np.flatnonzero(mask)
    if len(idx) <= 1:
        return True
    pos = np.full(len(mask), -1)
    pos[idx] = np.arange(len(idx))
    both = mask[a] & mask[b]
    g = coo_matrix((np.ones(both.sum()), (pos[a[both]], pos[b[both]])), shape=(len(idx), len(idx)))
    return connected_components(g, directed=False)[0] == 1


class _Bisector:
    """Recursive bisection; each call works on its own cells and the edges among them only, so the whole
    recursion costs about (cells + edges) × depth, not × number of grids."""

    def __init__(self, xy, hh, a, b, length, off, target, tolerance):
        self.xy, self.hh, self.a, self.b = xy, hh, a, b
        self.length, self.off = length, off
        self.target, self.tolerance = target, tolerance
        self.rank = np.full(len(hh), -1)  # scratch: a cell's position in the order being tried

    def split(self, members: np.ndarray, k: int, edges: np.ndarray | None = None) -> list[np.ndarray]:
        if edges is None:
            inside = np.zeros(len(self.hh), dtype=bool)
            inside[members] = True
            edges = np.flatnonzero(inside[self.a] & inside[self.b])
        if k <= 1 or len(members) <= 1:
            return [members]
        k1 = k // 2
        total = self.hh[members].sum()
        ideal = total * k1 / k
        window = 0.5 * self.tolerance * self.target
        ea, eb, el, eo = self.a[edges], self.b[edges], self.length[edges], self.off[edges]
        rank = self.rank
        n = len(members)
        orders, bad, cost, imb, angle, pos = [], [], [], [], [], []
        for t, theta in enumerate(ANGLES):
            d = self.xy[members] @ np.array([math.cos(theta), math.sin(theta)])
            order = members[np.lexsort((members, d))]
            rank[order] = np.arange(n)
            prefix = np.cumsum(self.hh[order])[:-1]  # households left of each cut position 1..n-1
            ra, rb = np.minimum(rank[ea], rank[eb]), np.maximum(rank[ea], rank[eb])
            # cut length at position p (between rank p-1 and p) adds every edge with ra < p <= rb
            cut = np.cumsum(np.bincount(ra + 1, el, n + 1) - np.bincount(rb + 1, el, n + 1))[1:n]
            offcut = np.cumsum(np.bincount(ra + 1, eo, n + 1) - np.bincount(rb + 1, eo, n + 1))[1:n]
            imbalance = np.abs(prefix - ideal)
            top = np.argsort(imbalance, kind="stable")[:40]
            orders.append(order)
            bad.append(imbalance[top] > window)
            cost.append(offcut[top] + 0.25 * cut[top])
            imb.append(imbalance[top])
            angle.append(np.full(len(top), t))
            pos.append(top)
        bad, cost, imb = np.concatenate(bad), np.concatenate(cost), np.concatenate(imb)
        angle, pos = np.concatenate(angle), np.concatenate(pos)
        # Cuts in the window first, cheapest boundary first; then the least imbalanced.
        ranked = np.lexsort((imb, np.where(bad, imb, cost), bad))
        for i in ranked:
            order, p = orders[angle[i]], int(pos[i])
            halves = self._halves(order, p, edges)
            if halves is not None:
                return self._recurse(order, p, k, k1, *halves)
        order, p = orders[angle[ranked[0]]], int(pos[ranked[0]])
        rank[order] = np.arange(len(order))
        left_edges = edges[(rank[ea] <= p) & (rank[eb] <= p)]
        right_edges = edges[(rank[ea] > p) & (rank[eb] > p)]
        return self._recurse(order, p, k, k1, left_edges, right_edges)

    def _recurse(self, order, p, k, k1, left_edges, right_edges) -> list[np.ndarray]:
        return self.split(order[: p + 1], k1, left_edges) + self.split(order[p + 1 :], k - k1, right_edges)

    def _halves(self, order: np.ndarray, p: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The edges inside each half of ``order`` cut after position ``p``, or None if a half is in pieces."""
        rank = self.rank
        rank[order] = np.arange(len(order))
        ra, rb = rank[self.a[edges]], rank[self.b[edges]]
        left, right = (ra <= p) & (rb <= p), (ra > p) & (rb > p)
        n_left, n_right = p + 1, len(order) - p - 1
        for mask, offset, n in ((left, 0, n_left), (right, n_left, n_right)):
            if n > 1:
                g = coo_matrix((np.ones(mask.sum()), (ra[mask] - offset, rb[mask] - offset)), shape=(n, n))
                if connected_components(g, directed=False)[0] != 1:
                    return None
        return edges[left], edges[right]


def _penalty(h: np.ndarray, target: float, tolerance: float, near_weight: float = 1.0) -> np.ndarray:
    """Out of band costs far more than off target; inside the band, nearer the target is still better
    (``near_weight`` 0: only the band matters, as when re-splitting must leave in-band grids alone)."""
    excess = np.maximum(np.abs(h - target) - tolerance * target, 0.0)
    return 50.0 * excess**2 + near_weight * (h - target) ** 2


def _refine(
    grid_of: np.ndarray,
    hh: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    off: np.ndarray,
    target: float,
    tolerance: float,
    max_moves: int = 5000,
    near_weight: float = 1.0,
    keep_band: bool = False,
) -> np.ndarray:
    """Move single cells across grid boundaries while that lowers the households penalty (and keeps grids whole)."""
    grid_of = grid_of.copy()
    n_grids = grid_of.max() + 1
    tried: set[tuple[int, int]] = set()
    graph = _Graph(len(grid_of), a, b)
    members_of: dict[int, set[int]] = {}  # each grid's cells, kept as moves happen (built when first needed)
    for _ in range(max_moves):
        gh = np.bincount(grid_of, weights=hh, minlength=n_grids)
        cross = grid_of[a] != grid_of[b]
        # candidate moves: cell a to b's grid, and cell b to a's grid
        cell = np.concatenate([a[cross], b[cross]])
        src = grid_of[cell]
        dst = np.concatenate([grid_of[b[cross]], grid_of[a[cross]]])
        w = hh[cell]
        pen = lambda h: _penalty(h, target, tolerance, near_weight)  # noqa: E731
        gain = pen(gh[src]) + pen(gh[dst]) - pen(gh[src] - w) - pen(gh[dst] + w)
        if keep_band:  # re-splitting: never push a grid that is in band out of it (no chains of moves)
            inb = lambda h: np.abs(h - target) <= tolerance * target  # noqa: E731
            breaks = (inb(gh[src]) & ~inb(gh[src] - w)) | (inb(gh[dst]) & ~inb(gh[dst] + w))
            gain = np.where(breaks, -np.inf, gain)
        # Road-following as a tie-breaker: cutting off-road boundary costs a little.
        gain -= 2.0 * np.concatenate([off[cross], off[cross]])
        # Every grid takes part in at most one move per round, so each move's gain is exactly as computed:
        # a round applies as many moves as there are disjoint pairs of grids that gain (the best first).
        moved, busy = False, set()
        for i in np.argsort(-gain, kind="stable"):
            if gain[i] <= 1e-9:
                break
            c, g_from, g_to = int(cell[i]), int(src[i]), int(dst[i])
            if g_from in busy or g_to in busy or (c, g_to) in tried:
                continue
            tried.add((c, g_to))
            donor = members_of.get(g_from)
            if donor is None:
                donor = members_of[g_from] = set(np.flatnonzero(grid_of == g_from).tolist())
            if len(donor) <= 1 or not graph.connected(donor - {c}):
                continue
            grid_of[c] = g_to
            donor.discard(c)
            members_of.pop(g_to, None)
            busy |= {g_from, g_to}
            moved = True
        if moved:
            tried.clear()
        elif not _swap(grid_of, hh, a, b, target, tolerance, near_weight):
            break
        else:
            members_of.clear()
    return grid_of


def _smooth(
    grid_of: np.ndarray,
    hh: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    length: np.ndarray,
    off: np.ndarray,
    target: float,
    tolerance: float,
    rounds: int = 30,
) -> np.ndarray:
    """Move boundary cells to the neighbouring grid they share more boundary with, while both grids stay in
    band and whole: each such move shortens the boundary between grids, so grids become more compact.

    Boundary is weighed as in the bisection (off-road length in full, along roads a quarter), so a
    boundary on a road is the last to be smoothed away.
    """
    grid_of = grid_of.copy()
    n_grids = grid_of.max() + 1
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    graph = _Graph(len(grid_of), a, b)
    ends, others = np.concatenate([a, b]), np.concatenate([b, a])
    weight = np.tile(off + 0.25 * length, 2)
    for _ in range(rounds):
        gh = np.bincount(grid_of, weights=hh, minlength=n_grids)
        # boundary each cell shares with each grid around it (its own included)
        shared = pd.Series(weight).groupby([ends, grid_of[others]]).sum()
        cell, grid = (shared.index.get_level_values(i).to_numpy() for i in (0, 1))
        own = pd.Series(0.0, index=np.arange(len(grid_of)))
        mine = grid == grid_of[cell]
        own[cell[mine]] = shared.to_numpy()[mine]
        src, w = grid_of[cell], hh[cell]
        # Shape is bought with balance only at a price: a metre of boundary is worth BALANCE_PRICE
        # of the squared households off target.
        worse = (
            (gh[src] - w - target) ** 2
            + (gh[grid] + w - target) ** 2
            - (gh[src] - target) ** 2
            - (gh[grid] - target) ** 2
        )
        gain = shared.to_numpy() - own.to_numpy()[cell] - BALANCE_PRICE * worse
        ok = ~mine & (gain > 1e-6) & (gh[src] - w >= lo) & (gh[grid] + w <= hi)
        # Each grid's cells as this round starts: a grid takes part in one move a round, so they hold.
        by_grid = np.argsort(grid_of, kind="stable")
        start = np.searchsorted(grid_of[by_grid], np.arange(n_grids + 1))
        moved, busy = False, set()
        for i in np.flatnonzero(ok)[np.argsort(-gain[ok], kind="stable")]:
            c, g_from, g_to = int(cell[i]), int(src[i]), int(grid[i])
            if g_from in busy or g_to in busy:
                continue
            donor = set(by_grid[start[g_from] : start[g_from + 1]].tolist())
            if len(donor) <= 1 or not graph.connected(donor - {c}):
                continue
            grid_of[c] = g_to
            busy |= {g_from, g_to}
            moved = True
        if not moved:
            break
    return grid_of


class _Graph:
    """Cell adjacency as neighbour lists, for connectivity checks that touch only the cells concerned."""

    def __init__(self, n: int, a: np.ndarray, b: np.ndarray):
        ends = np.concatenate([a, b])
        other = np.concatenate([b, a])
        order = np.argsort(ends, kind="stable")
        self.neighbours = other[order]
        self.start = np.searchsorted(ends[order], np.arange(n + 1))

    def connected(self, cells: set[int]) -> bool:
        """Whether ``cells`` form one piece (a walk through them alone)."""
        if len(cells) <= 1:
            return True
        first = next(iter(cells))
        seen, stack = {first}, [first]
        while stack:
            u = stack.pop()
            for v in self.neighbours[self.start[u] : self.start[u + 1]].tolist():
                if v in cells and v not in seen:
                    seen.add(v)
                    stack.append(v)
        return len(seen) == len(cells)


def _swap(
    grid_of: np.ndarray,
    hh: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    target: float,
    tolerance: float,
    near_weight: float,
) -> bool:
    """Exchange one boundary cell each between two neighbouring grids when that helps an out-of-band grid."""
    n_grids = grid_of.max() + 1
    gh = np.bincount(grid_of, weights=hh, minlength=n_grids)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    cross = grid_of[a] != grid_of[b]
    pairs = {}
    for x, y in zip(a[cross], b[cross], strict=True):
        ga, gb = int(grid_of[x]), int(grid_of[y])
        key = (min(ga, gb), max(ga, gb))
        side = pairs.setdefault(key, (set(), set()))
        side[0 if ga == key[0] else 1].add(int(x))
        side[1 if ga == key[0] else 0].add(int(y))
    best = None
    for (g1, g2), (s1, s2) in pairs.items():
        if lo <= gh[g1] <= hi and lo <= gh[g2] <= hi:
            continue
        before = _penalty(np.array([gh[g1], gh[g2]]), target, tolerance, near_weight).sum()
        c1, c2 = np.array(sorted(s1)), np.array(sorted(s2))
        d = hh[c1][:, None] - hh[c2][None, :]  # households moving from g1 to g2
        after = _penalty(gh[g1] - d, target, tolerance, near_weight) + _penalty(
            gh[g2] + d, target, tolerance, near_weight
        )
        i, j = np.unravel_index(np.argmin(after), after.shape)
        gain = before - after[i, j]
        if gain > 1e-9 and (best is None or gain > best[0]):
            best = (gain, int(c1[i]), int(c2[j]), g1, g2)
    if best is None:
        return False
    _, x, y, g1, g2 = best
    trial = grid_of.copy()
    trial[x], trial[y] = g2, g1
    if _connected(trial == g1, a, b) and _connected(trial == g2, a, b):
        grid_of[:] = trial
        return True
    return False


def polsby_popper(geoms) -> np.ndarray:
    """4πA/P²: 1 for a circle, near 0 for a sliver (geometries in a metric CRS)."""
    area, perim = shapely.area(geoms), shapely.length(geoms)
    return np.where(perim > 0, 4 * np.pi * area / np.maximum(perim, 1e-12) ** 2, 0.0)


@dataclass
class _Cells:
    """The tessellated parent in a metric CRS: cells, their buildings and households, and their adjacency."""

    epsg: int
    crs: object
    cells: np.ndarray
    owner: np.ndarray
    hh: np.ndarray  # households per cell
    building_hh: np.ndarray
    a: np.ndarray
    b: np.ndarray
    length: np.ndarray
    off: np.ndarray
    xy: np.ndarray
    roads_m: gpd.GeoSeries | None
    index: pd.Index
    leader: np.ndarray  # building → the building whose cell it shares (itself, unless footprints overlap)
    parent: object  # the parent's outline, metric


def _overlap_leaders(fp: np.ndarray) -> np.ndarray:
    """Each building's leader: footprints that overlap (OSM building parts, double digitising) share one cell,
    led by the lowest index; every other building leads itself."""
    i, j = shapely.STRtree(fp).query(fp, predicate="intersects")
    pair = i < j
    i, j = i[pair], j[pair]
    real = shapely.area(shapely.intersection(fp[i], fp[j])) > 1e-6
    graph = coo_matrix((np.ones(real.sum()), (i[real], j[real])), shape=(len(fp), len(fp)))
    _, label = connected_components(graph, directed=False)
    first = np.full(label.max() + 1, len(fp))
    np.minimum.at(first, label, np.arange(len(fp)))
    return first[label]


def _prepare(buildings: gpd.GeoDataFrame, boundary, roads, households_field: str) -> _Cells:
    if households_field not in buildings.columns:
        raise PartitionError(f"buildings have no {households_field!r} column")
    hh = pd.to_numeric(buildings[households_field], errors="coerce")
    if hh.isna().any() or (hh < 0).any():
        bad = buildings.index[hh.isna() | (hh < 0)][0]
        raise PartitionError(
            f"building {bad} has households {buildings[households_field][bad]}; need 0 or more"
        )
    outline = shapely.union_all(
        boundary.geometry.values if hasattr(boundary, "geometry") else boundary.values
    )
    if outline.is_empty or outline.area == 0:
        raise PartitionError("the boundary has no area")
    if boundary.crs is None:
        raise PartitionError("the boundary has no CRS; say what its coordinates are")
    epsg = (
        utm_epsg(outline.centroid.x, outline.centroid.y)
        if boundary.crs.is_geographic
        else boundary.crs.to_epsg()
    )
    parent = shapely.union_all(_metric(gpd.GeoSeries([outline], crs=boundary.crs), epsg).values)
    fp = _metric(buildings.geometry, epsg).values
    fp = np.where(shapely.get_type_id(fp) == 0, shapely.buffer(fp, 1.0, quad_segs=2), fp)
    outside = ~shapely.covers(parent.buffer(0.5), fp)
    if outside.any():
        raise PartitionError(
            f"{int(outside.sum())} building(s) lie outside the boundary, e.g. index "
            f"{buildings.index[np.flatnonzero(outside)[0]]}"
        )
    roads_m = None
    if roads is not None:
        roads_m = _metric(roads.geometry if hasattr(roads, "geometry") else roads, epsg)
    leader = _overlap_leaders(fp)
    leaders = np.flatnonzero(leader == np.arange(len(fp)))
    merged = fp[leaders].copy()
    shared = np.bincount(leader, minlength=len(fp))[leaders] > 1
    if shared.any():  # overlapping footprints become one footprint for the tessellation
        slot = np.full(len(fp), -1)
        slot[leaders] = np.arange(len(leaders))
        together = np.flatnonzero(np.isin(leader, leaders[shared]))
        merged[slot[leaders[shared]]] = _union_by(fp[together], slot[leader[together]], len(leaders))[
            slot[leaders[shared]]
        ]
    cells, owner = _tessellate(_blocks(parent, roads_m), merged)
    owner = np.where(owner >= 0, leaders[np.maximum(owner, 0)], -1)
    cells = np.asarray(cells, dtype=object)
    building_hh = hh.to_numpy(dtype=float)
    cluster_hh = np.bincount(leader, weights=building_hh, minlength=len(fp))
    cell_hh = np.where(owner >= 0, cluster_hh[np.maximum(owner, 0)], 0.0)
    a, b, length, off = _adjacency(cells, roads_m)
    xy = shapely.get_coordinates(shapely.point_on_surface(cells))
    return _Cells(
        epsg,
        buildings.crs,
        cells,
        owner,
        cell_hh,
        building_hh,
        a,
        b,
        length,
        off,
        xy,
        roads_m,
        buildings.index,
        leader,
        parent,
    )


def tessellation(
    buildings: gpd.GeoDataFrame, boundary, roads=None, *, households_field: str = "households"
) -> gpd.GeoDataFrame:
    """The cells grids are built from (one per building, plus empty blocks), with households, in a metric CRS."""
    c = _prepare(buildings, boundary, roads, households_field)
    return gpd.GeoDataFrame(
        {"households": c.hh, "x": c.xy[:, 0], "y": c.xy[:, 1]}, geometry=c.cells, crs=c.epsg
    )


def _finish(c: _Cells, parts: list[np.ndarray], ids: list[str], target: int, tolerance: float) -> Partition:
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    grid_of = _labels(parts, len(c.cells))
    # A building's grid is its cell's (buildings whose footprints overlap share their leader's cell).
    cell_of = np.full(len(c.building_hh), -1)
    cell_of[c.owner[c.owner >= 0]] = np.flatnonzero(c.owner >= 0)
    building_grid = grid_of[cell_of[c.leader]]
    assignment = np.asarray(ids, dtype=object)[building_grid]
    geoms = _union_by(c.cells, grid_of, len(parts))
    for i in np.flatnonzero(shapely.get_type_id(geoms) == 6):  # drop zero-area slivers the union can leave
        geoms[i] = shapely.union_all([p for p in geoms[i].geoms if p.area > 1e-3])
    rows = {
        "id": ids,
        "households": np.bincount(grid_of, weights=c.hh, minlength=len(parts)).round().astype(int),
        "n_buildings": np.bincount(building_grid, minlength=len(parts)),
    }
    grids = gpd.GeoDataFrame(rows, geometry=geoms, crs=c.epsg)
    grids["polsby_popper"] = np.round(polsby_popper(grids.geometry.values), 4)
    grids["in_band"] = grids["households"].between(lo, hi)
    report = _report(
        grids,
        _road_share(grids.geometry.values, c.parent, c.roads_m),
        lo,
        hi,
        c.building_hh,
        assignment,
        target,
    )
    return Partition(grids.to_crs(c.crs), pd.Series(assignment, index=c.index, name="grid_id"), report)


def _reading_order(c: _Cells, parts: list[np.ndarray]) -> np.ndarray:
    """North-west to south-east, so neighbouring grids get neighbouring numbers."""
    centres = np.array([c.xy[p].mean(axis=0) for p in parts])
    return np.lexsort((centres[:, 0], -np.round(centres[:, 1] / 200.0)))


def _draw(c: _Cells, k: int, target: int, tolerance: float) -> np.ndarray:
    """Each cell's grid (0..k-1): bisection, then balancing, then smoothing."""
    parts = _Bisector(c.xy, c.hh, c.a, c.b, c.length, c.off, target, tolerance).split(
        np.arange(len(c.cells)), k
    )
    grid_of = _refine(_labels(parts, len(c.cells)), c.hh, c.a, c.b, c.off, target, tolerance)
    return _smooth(grid_of, c.hh, c.a, c.b, c.length, c.off, target, tolerance)


def _fit(grid_of: np.ndarray, hh: np.ndarray, target: float, lo: float, hi: float) -> tuple[float, float]:
    """How well grids fit: the share in band, then (negated) the mean distance from the target."""
    gh = np.bincount(grid_of, weights=hh)
    return float(np.mean((gh >= lo) & (gh <= hi))), -float(np.mean(np.abs(gh - target)))


def draw_grids(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoSeries | gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    households_field: str = "households",
    target: int = 500,
    tolerance: float = 0.1,
    id_prefix: str = "G",
    units_field: str | None = None,
) -> Partition:
    """Grids of ``target`` ± ``tolerance`` households that exactly tile ``boundary`` (see the module notes).

    With ``units_field`` (units per building), a building above the band's upper bound is split by its
    units (``geo.units``): grids hold whole units, ``Partition.units`` says which, and the building's
    ``assignments`` entry is the grid holding most of its households.
    """
    if units_field is None:
        return _draw_grids(buildings, boundary, roads, households_field, target, tolerance, id_prefix)
    if units_field not in buildings.columns:
        raise PartitionError(f"buildings have no {units_field!r} column")
    pieces, origin = split_by_units(buildings, households_field, units_field, target * (1 + tolerance))
    result = _draw_grids(pieces, boundary, roads, households_field, target, tolerance, id_prefix)
    piece_grid = result.assignments.to_numpy()
    grid, units = collapse(piece_grid, pieces[households_field].to_numpy(), origin, len(buildings))
    per_grid = pd.Series(origin["position"].to_numpy()).groupby(piece_grid).nunique()
    result.grids["n_buildings"] = per_grid.reindex(result.grids["id"]).fillna(0).astype(int).to_numpy()
    result.report["split_buildings"] = units.to_dict("records")
    return Partition(
        result.grids, pd.Series(grid, index=buildings.index, name="grid_id"), result.report, units
    )


def _draw_grids(
    buildings: gpd.GeoDataFrame,
    boundary,
    roads,
    households_field: str,
    target: int,
    tolerance: float,
    id_prefix: str,
) -> Partition:
    c = _prepare(buildings, boundary, roads, households_field)
    total = c.hh.sum()
    k = max(1, int(round(total / target)))
    grid_of = _draw(c, k, target, tolerance)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    fit = _fit(grid_of, c.hh, target, lo, hi)
    if fit[0] < 1.0 and len(c.cells) <= COARSE_CELLS:
        # Coarse buildings (towers of hundreds of households) fit the band better in some counts of grids
        # than others: try the nearby counts that can be in band on average, and keep the best.
        feasible = range(max(1, math.ceil(total / hi)), max(1, math.floor(total / lo)) + 1)
        for other in sorted((n for n in feasible if 0 < abs(n - k) <= 3), key=lambda n: (abs(n - k), n)):
            trial = _draw(c, other, target, tolerance)
            if (trial_fit := _fit(trial, c.hh, target, lo, hi)) > fit:
                grid_of, fit = trial, trial_fit
    parts = [np.flatnonzero(grid_of == i) for i in range(grid_of.max() + 1)]
    order = _reading_order(c, parts)
    return _finish(
        c,
        [parts[i] for i in order],
        [f"{id_prefix}{n:02d}" for n in range(1, len(parts) + 1)],
        target,
        tolerance,
    )


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


def _labels(parts: list[np.ndarray], n: int) -> np.ndarray:
    grid_of = np.empty(n, dtype=np.int64)
    for i, members in enumerate(parts):
        grid_of[members] = i
    return grid_of


def _next_codes(existing: list[str], n: int) -> list[str]:
    """New codes after the highest existing one under the same prefix (community code + number)."""
    stem = existing[0][:-2] if existing and all(e[-2:].isdigit() for e in existing) else "G"
    used = [int(e[-2:]) for e in existing if e.startswith(stem) and e[-2:].isdigit()]
    start = max(used, default=0) + 1
    width = max(2, len(existing[0]) - len(stem) if existing else 2, len(str(start + n)))
    return [f"{stem}{k:0{width}d}" for k in range(start, start + n)]


def resplit_grids(
    buildings: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    boundary=None,
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
    c = _prepare(buildings, boundary, roads, households_field)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    old = grids.to_crs(c.epsg).reset_index(drop=True)
    old_ids = old["id"].astype(str).tolist()
    # Each cell starts in the old grid holding a point inside it (lowest grid on a shared edge).
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
    # What each cell was before anything moved: a grid is unchanged only if it ends with exactly these cells.
    before = grid_of.copy()
    grid_of = _make_contiguous(grid_of, c.a, c.b, c.length)
    bisector = _Bisector(c.xy, c.hh, c.a, c.b, c.length, c.off, target, tolerance)
    next_label = len(old)
    # First let boundary buildings move between neighbours; only then split what is still far too big.
    grid_of = _refine(grid_of, c.hh, c.a, c.b, c.off, target, tolerance, near_weight=0.0, keep_band=True)
    for g in np.unique(grid_of):
        members = np.flatnonzero(grid_of == g)
        h = c.hh[members].sum()
        # Split only into parts that can be in band; a grid a little over sheds buildings in refinement.
        if h <= hi or h < 2 * lo:
            continue
        k = int(min(max(round(h / target), math.ceil(h / hi)), math.floor(h / lo)))
        for part in bisector.split(members, k)[1:]:
            grid_of[part] = next_label
            next_label += 1
    grid_of = _refine(grid_of, c.hh, c.a, c.b, c.off, target, tolerance, near_weight=0.0, keep_band=True)
    for _ in range(3):
        # Where growth (or loss) spans several grids, redraw that grid with its neighbours as one more (or less).
        gh = np.bincount(grid_of, weights=c.hh, minlength=next_label)
        bad = [g for g in np.unique(grid_of) if not lo <= gh[g] <= hi]
        if not bad:
            break
        done: set[int] = set()
        for g in bad:
            if g in done:
                continue
            touching = np.concatenate([grid_of[c.b][grid_of[c.a] == g], grid_of[c.a][grid_of[c.b] == g]])
            neighbours = sorted(set(np.unique(touching).tolist()) - done - {int(g)})
            gh = np.bincount(grid_of, weights=c.hh, minlength=next_label)
            region_grids = _smallest_region(int(g), neighbours, gh, target, lo, hi)
            if region_grids is None:
                continue
            members = np.flatnonzero(np.isin(grid_of, list(region_grids)))
            k = max(1, int(round(c.hh[members].sum() / target)))
            for part in bisector.split(members, k):
                grid_of[part] = next_label
                next_label += 1
            done |= region_grids
        grid_of = _refine(grid_of, c.hh, c.a, c.b, c.off, target, tolerance, near_weight=0.0, keep_band=True)
    grid_of = _absorb_empty(grid_of, c.hh, c.a, c.b, c.length, c.cells)
    grid_of = _make_contiguous(grid_of, c.a, c.b, c.length)
    labels = np.unique(grid_of)
    parts = [np.flatnonzero(grid_of == g) for g in labels]
    unchanged = {
        g
        for g, p in zip(labels, parts, strict=True)
        if g < len(old) and np.array_equal(np.flatnonzero(before == g), p)
    }
    new_codes = iter(_next_codes(old_ids, len(parts) - len(unchanged)))
    ids = [old_ids[g] if g in unchanged else next(new_codes) for g in labels]
    result = _finish(c, parts, ids, target, tolerance)
    old_assignment = _old_grids(buildings, old, old_ids, c, current)
    moved = result.assignments.to_numpy() != old_assignment
    mapping = (
        pd.DataFrame(
            {
                "old_grid": old_assignment,
                "new_grid": result.assignments.to_numpy(),
                "households": c.building_hh,
            }
        )
        .groupby(["old_grid", "new_grid"])["households"]
        .sum()
        .reset_index()
    )
    mapping["share"] = mapping["households"] / mapping.groupby("old_grid")["households"].transform("sum")
    # A grid that changes becomes a new version under a new code; the new grid that took most of its
    # households continues it. A building keeps its grid when it stays with that continuation.
    successor = (
        mapping.sort_values(["old_grid", "households", "new_grid"]).groupby("old_grid")["new_grid"].last()
    )
    had = pd.notna(old_assignment)
    stayed = result.assignments.to_numpy()[had] == pd.Series(old_assignment[had]).map(successor).to_numpy()
    result.report.update(
        {
            "buildings_kept_share": float(stayed.mean()) if had.any() else 1.0,
            "buildings_same_code_share": float(1 - moved[had].mean()) if had.any() else 1.0,
            "grids_unchanged_share": len(unchanged) / max(len(old), 1),
            "unchanged": sorted(old_ids[g] for g in unchanged),
            "moves": [
                {"building": str(c.index[i]), "from": old_assignment[i], "to": result.assignments.iloc[i]}
                for i in np.flatnonzero(moved)
            ],
            "mapping": mapping.to_dict("records"),
        }
    )
    return result


def _old_grids(
    buildings: gpd.GeoDataFrame,
    old: gpd.GeoDataFrame,
    old_ids: list[str],
    c: _Cells,
    current: pd.Series | None,
) -> np.ndarray:
    """Each building's grid before the re-split (None for a new one): the known one, else the old grid holding
    its footprint (what moved is reported against this)."""
    out = np.full(len(c.building_hh), None, dtype=object)
    inside = shapely.point_on_surface(_metric(buildings.geometry, c.epsg).values)
    bi, gi = shapely.STRtree(old.geometry.values).query(inside, predicate="intersects")
    out[bi[::-1]] = np.asarray(old_ids, dtype=object)[gi[::-1]]  # the lowest grid where two share an edge
    if current is not None:
        known = current.reindex(c.index).to_numpy(dtype=object)
        out = np.where(pd.notna(known), known, out)
    return out


def _areal(geom):
    """The polygons of a geometry (an intersection can add stray lines and points), as one geometry."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def fit_around(kept: list, changed: list, parent) -> list:
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


def _road_share(grids: np.ndarray, parent, roads_m) -> float | None:
    """Share of the internal grid boundary within ``ROAD_NEAR_M`` of a road.

    Grids tile the parent, so every internal edge is on exactly two grid outlines and the parent's
    outline on one: halving (grid outlines − parent outline) gives the internal boundary without the
    union of all outlines, whose noding costs seconds on a city.
    """
    if roads_m is None or not len(roads_m):
        return None
    outlines = np.concatenate([shapely.boundary(grids), [parent.boundary]])
    length, near = shapely.length(outlines), near_road_length(outlines, roads_m)
    internal = length[:-1].sum() - length[-1]
    return float((near[:-1].sum() - near[-1]) / internal) if internal > 0 else None


def _report(
    grids: gpd.GeoDataFrame,
    road_share: float | None,
    lo: float,
    hi: float,
    hh: np.ndarray,
    assignment: np.ndarray,
    target: int,
) -> dict:
    out = []
    for row in grids.itertuples():
        if row.in_band:
            continue
        biggest = hh[assignment == row.id].max() if (assignment == row.id).any() else 0
        why = (
            "one building has more households than the upper bound"
            if biggest > hi
            else "its buildings cannot be grouped closer to the target without cutting a block"
        )
        out.append({"id": row.id, "households": int(row.households), "reason": why})
    dev = np.abs(grids["households"] - target) / target
    return {
        "n_grids": len(grids),
        "band": [lo, hi],
        "in_band_share": float(grids["in_band"].mean()),
        "mean_abs_deviation": float(dev.mean()),
        "polsby_popper_median": float(grids["polsby_popper"].median()),
        "road_share": road_share,
        "out_of_band": out,
    }
