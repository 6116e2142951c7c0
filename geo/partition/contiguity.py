"""Grids in one piece: connectivity checks, stray pieces and empty grids given to their neighbours."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.partition.model import Cells


class Graph:
    """Cell adjacency as neighbour lists, for connectivity checks that touch only the cells concerned."""

    def __init__(self, n: int, a: np.ndarray, b: np.ndarray) -> None:
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


def connected(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the cells in ``mask`` form one piece."""
    idx = np.flatnonzero(mask)
    if len(idx) <= 1:
        return True
    pos = np.full(len(mask), -1)
    pos[idx] = np.arange(len(idx))
    both = mask[a] & mask[b]
    g = coo_matrix((np.ones(both.sum()), (pos[a[both]], pos[b[both]])), shape=(len(idx), len(idx)))
    return connected_components(g, directed=False)[0] == 1


def _most_shared(length: np.ndarray, other: np.ndarray) -> int:
    """The grid among ``other`` (one per edge) that the edges' ``length`` most goes to."""
    weight = pd.Series(length).groupby(other).sum()
    return int(cast(int, weight.idxmax()))  # grids are numbered; the stubs only know a label is Hashable


def _kindest(
    length: np.ndarray, other: np.ndarray, gh: np.ndarray, piece: float, fit: tuple[float, float]
) -> int:
    """The neighbour a stray piece of ``piece`` households harms least: one that stays in band (or was out of
    it already) before one pushed out, then one in band after, then the most shared edge."""
    lo, hi = fit
    weight = pd.Series(length).groupby(other).sum()
    grids = weight.index.to_numpy()
    after = gh[grids] + piece
    was_in = (gh[grids] >= lo) & (gh[grids] <= hi)
    now_in = (after >= lo) & (after <= hi)
    best = np.lexsort((-weight.to_numpy(), ~now_in, was_in & ~now_in))[0]
    return int(grids[best])


def make_contiguous(grid_of: np.ndarray, c: Cells, fit: tuple[float, float] | None = None) -> np.ndarray:
    """Give every piece of a grid cut off from its main body to the neighbour it shares most edge with
    (with ``fit``, a band: to the neighbour it harms least, see ``_kindest``)."""
    a, b = c.a, c.b
    grid_of = grid_of.copy()
    n = len(grid_of)
    for _ in range(10):
        same = grid_of[a] == grid_of[b]
        g = coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(n, n))
        _, comp = connected_components(g, directed=False)
        size = np.bincount(comp)
        main: dict[int, int] = {}
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
            if fit is None:
                grid_of[cells] = _most_shared(c.length[inside], other)
            else:
                gh = np.bincount(grid_of, weights=c.hh, minlength=grid_of.max() + 1)
                grid_of[cells] = _kindest(c.length[inside], other, gh, float(c.hh[cells].sum()), fit)
    return grid_of


def absorb_empty(grid_of: np.ndarray, c: Cells) -> np.ndarray:
    """A grid with no households (a park, a site) joins the neighbour it shares most edge with."""
    a, b, cells = c.a, c.b, c.cells
    grid_of = grid_of.copy()
    gh = pd.Series(c.hh).groupby(grid_of).sum()
    for g in gh.index[gh == 0]:
        mine = grid_of == g
        inside = mine[a] ^ mine[b]
        if inside.any():
            other = np.where(mine[a[inside]], grid_of[b[inside]], grid_of[a[inside]])
            grid_of[mine] = _most_shared(c.length[inside], other)
        elif (~mine).any():  # touching only at corners: the nearest cell's grid
            rest = np.flatnonzero(~mine)
            near = shapely.STRtree(cells[rest]).query_nearest(shapely.union_all(cells[mine]))[0]
            grid_of[mine] = grid_of[rest[near]]
    return grid_of
