"""Cells from buildings: the parent cut into blocks by the roads, and each block into one cell per building.

A cell is a Voronoi tessellation of points along its building's footprint, so each cell holds its whole
footprint; grids are unions of cells, so they tile the parent exactly and never cut a building.
"""

from __future__ import annotations

import dask
import geopandas as gpd
import numpy as np
import shapely
from shapely.ops import polygonize, unary_union

from geo.sampling import points_along

SAMPLE_M = 4.0  # spacing of points along a footprint for the tessellation
MIN_FACE_M2 = 1.0  # a block smaller than this is a sliver between two lines, not land
COVERAGE_GAP_M = 0.01  # gaps between cells narrower than this are seams of the diagram, not land


def blocks(parent: shapely.Geometry, roads: gpd.GeoSeries | None) -> list[shapely.Geometry]:
    """The faces the roads cut the parent into (the parent's own parts without roads)."""
    if roads is None or len(roads) == 0:
        return list(getattr(parent, "geoms", [parent]))
    lines = [parent.boundary] + [g for g in roads.intersection(parent).values if not g.is_empty]
    faces = [f for f in polygonize(unary_union(lines)) if parent.covers(f.representative_point())]
    return _without_slivers(faces) or list(getattr(parent, "geoms", [parent]))


def _without_slivers(faces: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """Faces below ``MIN_FACE_M2`` (a road drawn a hair beside the parent's edge leaves a face of 1e-9 m²)
    joined to the neighbour they share most boundary with: no cell is a sliver."""
    arr = np.asarray(faces, dtype=object)
    small = shapely.area(arr) < MIN_FACE_M2
    if not small.any() or small.all():
        return faces
    big = np.flatnonzero(~small)
    tree = shapely.STRtree(arr[big])
    for i in np.flatnonzero(small):
        near = tree.query(arr[i], predicate="intersects")
        if len(near) == 0:
            near = tree.query_nearest(arr[i])
        shared = shapely.length(shapely.intersection(shapely.boundary(arr[big[near]]), arr[i].boundary))
        k = big[near[int(np.argmax(shared))]]
        arr[k] = shapely.union(arr[k], arr[i])
    return list(arr[big])


def _merge_blocks_under_buildings(
    blocks: list[shapely.Geometry], footprints: np.ndarray
) -> list[shapely.Geometry]:
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
    groups: dict[int, list[shapely.Geometry]] = {}
    for i in range(len(arr)):
        groups.setdefault(root(i), []).append(arr[i])
    return [g[0] if len(g) == 1 else shapely.union_all(g) for _, g in sorted(groups.items())]


def _shift(geoms: np.ndarray | shapely.Geometry, offset: np.ndarray) -> np.ndarray | shapely.Geometry:
    return shapely.transform(geoms, lambda c: c + offset)


def _footprint_samples(footprints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``SAMPLE_M`` (at least 4) around each footprint, and the footprint each belongs to."""
    rings = shapely.boundary(footprints)
    n = np.maximum(4, (shapely.length(rings) / SAMPLE_M).astype(int))
    owner = np.repeat(np.arange(len(footprints)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    fraction = (np.arange(len(owner)) - start) / n[owner]
    return shapely.points(points_along(rings, owner, fraction)), owner


def union_by(geoms: np.ndarray, label: np.ndarray, n: int) -> np.ndarray:
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
    block: shapely.Geometry,
    members: np.ndarray,
    member_fp: np.ndarray,
    seeds: np.ndarray,
    seed_owner: np.ndarray,
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
    block_cells = union_by(parts, part_of, len(members))
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


def tessellate(
    blocks: list[shapely.Geometry], footprints: np.ndarray
) -> tuple[list[shapely.Geometry], np.ndarray]:
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
    cells: list[shapely.Geometry] = []
    owner: list[int] = []
    done = iter(block_cells)
    for block, members in zip(blocks, members_of, strict=True):
        if len(members) <= 1:  # an empty block is a cell of its own; a block of one building is its cell
            cells.append(block)
            owner.append(int(members[0]) if len(members) else -1)
        else:
            cells.extend(next(done))
            owner.extend(members.tolist())
    owners = np.asarray(owner)
    whole = np.asarray(_whole_cells(cells, owners, footprints), dtype=object)
    clean = _edge_matched(whole)
    for _ in range(3):
        # Snapping can leave a cell a sliver across a cut (a barrier's line): it would join the cell to
        # a neighbour on the far side, and a grid of such cells in two pieces. Make them whole again.
        if (shapely.get_num_geometries(clean) == 1).all():
            break
        clean = _edge_matched(np.asarray(_whole_cells(list(clean), owners, footprints), dtype=object))
    return list(clean), owners


def _edge_matched(cells: np.ndarray) -> np.ndarray:
    """The cells as a clean coverage: shared edges with identical vertices, no gaps or overlaps.

    Voronoi pieces clipped to blocks and footprints meet their neighbours only to within about 1e-9 m, so
    a union of cells keeps holes of 1e-11 m² that look valid in metres but collapse to two-point rings once
    reprojected to degrees (36 of the demo's 57 grids were invalid that way). Snapping the cells into one
    coverage here makes every union of them exact.
    """
    return shapely.coverage_clean(_polygonal(cells), gap_width=COVERAGE_GAP_M)


def _polygonal(cells: np.ndarray) -> np.ndarray:
    """The cells without the stray lines a clip can leave beside a polygon (a collection of both, which
    a coverage refuses): lines hold no land."""
    mixed = np.flatnonzero(shapely.get_type_id(cells) == 7)
    if len(mixed):
        cells = cells.copy()
        for i in mixed:
            parts = shapely.get_parts(cells[i])
            cells[i] = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    return cells


def _whole_cells(
    cells: list[shapely.Geometry], owner: np.ndarray, footprints: np.ndarray
) -> list[shapely.Geometry]:
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
