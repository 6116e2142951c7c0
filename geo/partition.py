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
3. Each grid's households, compactness (Polsby–Popper) and band are reported, and
   every grid that cannot be in band says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.ops import polygonize, unary_union

from geo.coords import utm_epsg

ANGLES = np.deg2rad(np.arange(0, 180, 15))
SAMPLE_M = 4.0  # spacing of points along a footprint for the tessellation
ROAD_NEAR_M = 15.0


class PartitionError(ValueError):
    """Input that cannot be partitioned (no area, buildings outside the parent, negative households)."""


@dataclass
class Partition:
    """Grids (id, households, n_buildings, polsby_popper, in_band, geometry) and each building's grid."""

    grids: gpd.GeoDataFrame
    assignments: pd.Series
    report: dict = field(default_factory=dict)


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


def _tessellate(blocks: list, footprints: np.ndarray) -> tuple[list, np.ndarray]:
    """Cells: one per building plus one per empty block; returns cells and each cell's building (-1: none)."""
    blocks = _merge_blocks_under_buildings(blocks, footprints)
    reps = shapely.point_on_surface(footprints)
    tree = shapely.STRtree(np.asarray(blocks, dtype=object))
    b_idx, blk_idx = tree.query(reps, predicate="within")
    block_of = np.full(len(footprints), -1)
    block_of[b_idx] = blk_idx
    cells, owner = [], []
    for bi, block in enumerate(blocks):
        members = np.flatnonzero(block_of == bi)
        if len(members) == 0:
            cells.append(block)
            owner.append(-1)
            continue
        if len(members) == 1:
            cells.append(block)
            owner.append(int(members[0]))
            continue
        seeds, seed_owner = [], []
        for m in members:
            ring = footprints[m].boundary
            n = max(4, int(ring.length / SAMPLE_M))
            pts = shapely.line_interpolate_point(ring, np.linspace(0, 1, n, endpoint=False), normalized=True)
            seeds.extend(pts)
            seed_owner.extend([m] * len(pts))
        seeds = np.asarray(seeds, dtype=object)
        # GEOS's Voronoi loses precision at UTM magnitudes (millions of metres) and returns overlapping
        # cells: build it around the block's own origin and move it back.
        origin = np.array([block.centroid.x, block.centroid.y])
        vor = shapely.voronoi_polygons(shapely.multipoints(_shift(seeds, -origin)), extend_to=_shift(block, -origin))
        pieces = _shift(np.asarray(shapely.get_parts(vor), dtype=object), origin)
        pieces = shapely.intersection(shapely.make_valid(pieces), block)
        # Voronoi output order is not the input order: match pieces to seeds by containment.
        si, pi = shapely.STRtree(pieces).query(seeds, predicate="intersects")
        first = np.full(len(pieces), -1)
        for s, p in zip(si, pi, strict=True):
            if first[p] < 0:
                first[p] = seed_owner[s]
        member_fp = footprints[members]
        fp_tree = shapely.STRtree(member_fp)
        for m in members:
            mine = [pieces[p] for p in np.flatnonzero(first == m)]
            cell = shapely.union_all(mine + [footprints[m].intersection(block)])
            # Another footprint reaching into this cell stays with its own building.
            near = [j for j in fp_tree.query(cell, predicate="intersects") if members[j] != m]
            if near:
                cell = cell.difference(shapely.union_all(member_fp[near]))
            cells.append(cell)
            owner.append(int(m))
        # Whatever the cells missed (seams of the Voronoi diagram) goes to the cell it shares most edge with.
        start = len(cells) - len(members)
        block_cells = np.asarray(cells[start:], dtype=object)
        rest = block.difference(shapely.union_all(block_cells))
        parts = [g for g in shapely.get_parts(rest) if g.area > 1e-6]
        if parts:
            tree_cells = shapely.STRtree(block_cells)
            for part in parts:
                cand = tree_cells.query(part, predicate="intersects")
                if len(cand) == 0:
                    cand = tree_cells.query_nearest(part)
                shared = shapely.length(shapely.intersection(shapely.boundary(block_cells[cand]), part.boundary))
                k = start + int(cand[int(np.argmax(shared))])
                cells[k] = cells[k].union(part)
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


def _adjacency(cells: np.ndarray, roads_m: gpd.GeoSeries | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of touching cells, their shared boundary length and how much of it lies off the roads."""
    a, b = shapely.STRtree(cells).query(cells, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.intersection(shapely.boundary(cells[a]), shapely.boundary(cells[b]))
    length = shapely.length(shared)
    ok = length > 0.01
    a, b, shared, length = a[ok], b[ok], shared[ok], length[ok]
    if roads_m is not None and len(roads_m):
        near = shapely.union_all(roads_m.values).buffer(ROAD_NEAR_M)
        off = length - shapely.length(shapely.intersection(shared, near))
    else:
        off = length.copy()
    return a, b, length, off


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
    def __init__(self, xy, hh, a, b, length, off, target, tolerance):
        self.xy, self.hh, self.a, self.b = xy, hh, a, b
        self.length, self.off = length, off
        self.target, self.tolerance = target, tolerance

    def split(self, members: np.ndarray, k: int) -> list[np.ndarray]:
        if k <= 1 or len(members) <= 1:
            return [members]
        k1 = k // 2
        total = self.hh[members].sum()
        ideal = total * k1 / k
        window = 0.5 * self.tolerance * self.target
        mask = np.zeros(len(self.hh), dtype=bool)
        mask[members] = True
        inner = mask[self.a] & mask[self.b]
        ea, eb, el, eo = self.a[inner], self.b[inner], self.length[inner], self.off[inner]
        rank = np.full(len(self.hh), -1)
        options = []
        for theta in ANGLES:
            d = self.xy[members] @ np.array([math.cos(theta), math.sin(theta)])
            order = members[np.lexsort((members, d))]
            rank[order] = np.arange(len(order))
            prefix = np.cumsum(self.hh[order])[:-1]  # households left of each cut position 1..n-1
            ra, rb = np.minimum(rank[ea], rank[eb]), np.maximum(rank[ea], rank[eb])
            # cut length at position p (between rank p-1 and p) adds every edge with ra < p <= rb
            cut = np.zeros(len(order) + 1)
            offcut = np.zeros(len(order) + 1)
            np.add.at(cut, ra + 1, el)
            np.add.at(cut, rb + 1, -el)
            np.add.at(offcut, ra + 1, eo)
            np.add.at(offcut, rb + 1, -eo)
            cut, offcut = np.cumsum(cut)[1:len(order)], np.cumsum(offcut)[1:len(order)]
            imbalance = np.abs(prefix - ideal)
            for p in np.argsort(imbalance, kind="stable")[:40]:
                options.append((imbalance[p] > window, offcut[p] + 0.25 * cut[p], imbalance[p], theta, p, order))
        options.sort(key=lambda o: (o[0], o[1] if not o[0] else o[2], o[2]))
        for _, _, _, _, p, order in options:
            left = np.zeros(len(self.hh), dtype=bool)
            left[order[:p + 1]] = True
            right = mask & ~left
            if _connected(left, self.a, self.b) and _connected(right, self.a, self.b):
                return self.split(order[:p + 1], k1) + self.split(order[p + 1:], k - k1)
        order = options[0][5]
        p = options[0][4]
        return self.split(order[:p + 1], k1) + self.split(order[p + 1:], k - k1)


def _penalty(h: np.ndarray, target: float, tolerance: float) -> np.ndarray:
    """Out of band costs far more than off target; inside the band, nearer the target is still better."""
    excess = np.maximum(np.abs(h - target) - tolerance * target, 0.0)
    return 50.0 * excess ** 2 + (h - target) ** 2


def _refine(grid_of: np.ndarray, hh: np.ndarray, a: np.ndarray, b: np.ndarray, off: np.ndarray, target: float,
            tolerance: float, max_moves: int = 5000) -> np.ndarray:
    """Move single cells across grid boundaries while that lowers the households penalty (and keeps grids whole)."""
    grid_of = grid_of.copy()
    n_grids = grid_of.max() + 1
    tried: set[tuple[int, int]] = set()
    for _ in range(max_moves):
        gh = np.bincount(grid_of, weights=hh, minlength=n_grids)
        cross = grid_of[a] != grid_of[b]
        # candidate moves: cell a to b's grid, and cell b to a's grid
        cell = np.concatenate([a[cross], b[cross]])
        src = grid_of[cell]
        dst = np.concatenate([grid_of[b[cross]], grid_of[a[cross]]])
        w = hh[cell]
        gain = (_penalty(gh[src], target, tolerance) + _penalty(gh[dst], target, tolerance)
                - _penalty(gh[src] - w, target, tolerance) - _penalty(gh[dst] + w, target, tolerance))
        # Road-following as a tie-breaker: cutting off-road boundary costs a little.
        gain -= 2.0 * np.concatenate([off[cross], off[cross]])
        moved = False
        for i in np.argsort(-gain, kind="stable"):
            if gain[i] <= 1e-9:
                break
            c, g_from, g_to = int(cell[i]), int(src[i]), int(dst[i])
            if (c, g_to) in tried:
                continue
            tried.add((c, g_to))
            donor = grid_of == g_from
            donor[c] = False
            if not donor.any() or not _connected(donor, a, b):
                continue
            grid_of[c] = g_to
            moved = True
            tried.clear()
            break
        if not moved and not _swap(grid_of, hh, a, b, target, tolerance):
            break
    return grid_of


def _swap(grid_of: np.ndarray, hh: np.ndarray, a: np.ndarray, b: np.ndarray, target: float,
          tolerance: float) -> bool:
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
        before = _penalty(np.array([gh[g1], gh[g2]]), target, tolerance).sum()
        c1, c2 = np.array(sorted(s1)), np.array(sorted(s2))
        d = hh[c1][:, None] - hh[c2][None, :]  # households moving from g1 to g2
        after = _penalty(gh[g1] - d, target, tolerance) + _penalty(gh[g2] + d, target, tolerance)
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


def draw_grids(buildings: gpd.GeoDataFrame, boundary: gpd.GeoSeries | gpd.GeoDataFrame,
               roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None, *, households_field: str = "households",
               target: int = 500, tolerance: float = 0.1, id_prefix: str = "G") -> Partition:
    """Grids of ``target`` ± ``tolerance`` households that exactly tile ``boundary`` (see the module notes)."""
    if households_field not in buildings.columns:
        raise PartitionError(f"buildings have no {households_field!r} column")
    hh = pd.to_numeric(buildings[households_field], errors="coerce")
    if hh.isna().any() or (hh < 0).any():
        bad = buildings.index[hh.isna() | (hh < 0)][0]
        raise PartitionError(f"building {bad} has households {buildings[households_field][bad]}; need 0 or more")
    outline = shapely.union_all(boundary.geometry.values if hasattr(boundary, "geometry") else boundary.values)
    if outline.is_empty or outline.area == 0:
        raise PartitionError("the boundary has no area")
    lon, lat = outline.centroid.x, outline.centroid.y
    epsg = utm_epsg(lon, lat) if boundary.crs and boundary.crs.is_geographic else boundary.crs.to_epsg()
    parent = shapely.union_all(_metric(gpd.GeoSeries([outline], crs=boundary.crs), epsg).values)
    fp = _metric(buildings.geometry, epsg).values
    fp = np.where(shapely.get_type_id(fp) == 0, shapely.buffer(fp, 1.0, quad_segs=2), fp)
    outside = ~shapely.covers(parent.buffer(0.5), fp)
    if outside.any():
        raise PartitionError(f"{int(outside.sum())} building(s) lie outside the boundary, e.g. index "
                             f"{buildings.index[np.flatnonzero(outside)[0]]}")
    roads_m = None
    if roads is not None:
        roads_m = _metric(roads.geometry if hasattr(roads, "geometry") else roads, epsg)
    blocks = _blocks(parent, roads_m)
    cells, owner = _tessellate(blocks, fp)
    cells = np.asarray(cells, dtype=object)
    cell_hh = np.where(owner >= 0, hh.to_numpy()[np.maximum(owner, 0)], 0.0)
    a, b, length, off = _adjacency(cells, roads_m)
    total = float(cell_hh.sum())
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    k = max(1, int(round(total / target)))
    xy = shapely.get_coordinates(shapely.point_on_surface(cells))
    parts = _Bisector(xy, cell_hh, a, b, length, off, target, tolerance).split(np.arange(len(cells)), k)
    grid_of = np.empty(len(cells), dtype=np.int64)
    for i, members in enumerate(parts):
        grid_of[members] = i
    grid_of = _refine(grid_of, cell_hh, a, b, off, target, tolerance)
    parts = [np.flatnonzero(grid_of == i) for i in range(len(parts))]
    # Grid codes run north-west to south-east, so neighbours get neighbouring numbers.
    centres = np.array([xy[p].mean(axis=0) for p in parts])
    order = np.lexsort((centres[:, 0], -np.round(centres[:, 1] / 200.0)))
    geoms, rows, assignment = [], [], np.empty(len(fp), dtype=object)
    for n, pi in enumerate(order, start=1):
        members = parts[pi]
        gid = f"{id_prefix}{n:02d}"
        geom = shapely.union_all(cells[members])
        households = int(cell_hh[members].sum())
        blds = owner[members][owner[members] >= 0]
        assignment[blds] = gid
        geoms.append(geom)
        rows.append({"id": gid, "households": households, "n_buildings": int(len(blds))})
    grids = gpd.GeoDataFrame(rows, geometry=geoms, crs=epsg)
    grids["polsby_popper"] = np.round(polsby_popper(grids.geometry.values), 4)
    grids["in_band"] = grids["households"].between(lo, hi)
    report = _report(grids, roads_m, lo, hi, hh.to_numpy(), assignment, target)
    return Partition(grids.to_crs(buildings.crs), pd.Series(assignment, index=buildings.index, name="grid_id"),
                     report)


def _report(grids: gpd.GeoDataFrame, roads_m, lo: float, hi: float, hh: np.ndarray, assignment: np.ndarray,
            target: int) -> dict:
    internal = shapely.union_all(grids.geometry.boundary.values).difference(
        shapely.union_all(grids.geometry.values).boundary)
    road_share = None
    if roads_m is not None and len(roads_m) and internal.length > 0:
        near = shapely.union_all(roads_m.values).buffer(ROAD_NEAR_M)
        road_share = float(internal.intersection(near).length / internal.length)
    out = []
    for row in grids.itertuples():
        if row.in_band:
            continue
        biggest = hh[assignment == row.id].max() if (assignment == row.id).any() else 0
        why = ("one building has more households than the upper bound" if biggest > hi else
               "its buildings cannot be grouped closer to the target without cutting a block")
        out.append({"id": row.id, "households": int(row.households), "reason": why})
    dev = np.abs(grids["households"] - target) / target
    return {"n_grids": len(grids), "band": [lo, hi], "in_band_share": float(grids["in_band"].mean()),
            "mean_abs_deviation": float(dev.mean()), "polsby_popper_median": float(grids["polsby_popper"].median()),
            "road_share": road_share, "out_of_band": out}
