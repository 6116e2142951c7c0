"""Boundary buildings moved between neighbouring grids: first to bring grids into the band (refinement),
then to shorten the boundary between grids (smoothing: compact grids, priced against balance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.partition.contiguity import Graph, connected
from geo.partition.model import Cells, band

BALANCE_PRICE = 0.02  # metres of grid boundary saved that justify one squared household off target


def _penalty(h: np.ndarray, target: float, tolerance: float, near_weight: float = 1.0) -> np.ndarray:
    """Out of band costs far more than off target; inside the band, nearer the target is still better
    (``near_weight`` 0: only the band matters, as when re-splitting must leave in-band grids alone)."""
    excess = np.maximum(np.abs(h - target) - tolerance * target, 0.0)
    return 50.0 * excess**2 + near_weight * (h - target) ** 2


class _Refiner:
    """Single cells moved across grid boundaries, round by round, with what the rounds remember: the moves
    tried since the last change (none is tried twice), and each grid's cells (built when first needed)."""

    def __init__(
        self,
        grid_of: np.ndarray,
        c: Cells,
        target: float,
        tolerance: float,
        near_weight: float,
        keep_band: bool,
    ) -> None:
        self.grid_of, self.hh, self.a, self.b, self.off = grid_of, c.hh, c.a, c.b, c.off
        self.target, self.tolerance, self.near_weight, self.keep_band = (
            target,
            tolerance,
            near_weight,
            keep_band,
        )
        self.n_grids = grid_of.max() + 1
        self.tried: set[tuple[int, int]] = set()
        self.graph = Graph(len(grid_of), c.a, c.b)
        self.members_of: dict[int, set[int]] = {}  # each grid's cells, kept as moves happen

    def _penalty(self, h: np.ndarray) -> np.ndarray:
        return _penalty(h, self.target, self.tolerance, self.near_weight)

    def _in_band(self, h: np.ndarray) -> np.ndarray:
        return np.abs(h - self.target) <= self.tolerance * self.target

    def gains(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The candidate moves (cell a to b's grid, and cell b to a's grid), as cell, its grid, the grid it
        would join, and what the move gains."""
        grid_of, a, b = self.grid_of, self.a, self.b
        gh = np.bincount(grid_of, weights=self.hh, minlength=self.n_grids)
        cross = grid_of[a] != grid_of[b]
        cell = np.concatenate([a[cross], b[cross]])
        src = grid_of[cell]
        dst = np.concatenate([grid_of[b[cross]], grid_of[a[cross]]])
        w = self.hh[cell]
        pen = self._penalty
        gain = pen(gh[src]) + pen(gh[dst]) - pen(gh[src] - w) - pen(gh[dst] + w)
        if self.keep_band:  # re-splitting: never push a grid that is in band out of it (no chains of moves)
            inb = self._in_band
            breaks = (inb(gh[src]) & ~inb(gh[src] - w)) | (inb(gh[dst]) & ~inb(gh[dst] + w))
            gain = np.where(breaks, -np.inf, gain)
        # Road-following as a tie-breaker: cutting off-road boundary costs a little.
        gain -= 2.0 * np.concatenate([self.off[cross], self.off[cross]])
        return cell, src, dst, gain

    def move(self, cell: np.ndarray, src: np.ndarray, dst: np.ndarray, gain: np.ndarray) -> bool:
        """Make the moves that gain, best first, each grid in one move at most; whether any was made.

        A grid taking part in at most one move a round keeps each move's gain exactly as computed: a round
        applies as many moves as there are disjoint pairs of grids that gain (and keep the donor whole).
        """
        moved, busy = False, set()
        for i in np.argsort(-gain, kind="stable"):
            if gain[i] <= 1e-9:
                break
            x, g_from, g_to = int(cell[i]), int(src[i]), int(dst[i])
            if g_from in busy or g_to in busy or (x, g_to) in self.tried:
                continue
            self.tried.add((x, g_to))
            donor = self.members_of.get(g_from)
            if donor is None:
                donor = self.members_of[g_from] = set(np.flatnonzero(self.grid_of == g_from).tolist())
            if len(donor) <= 1 or not self.graph.connected(donor - {x}):
                continue
            self.grid_of[x] = g_to
            donor.discard(x)
            self.members_of.pop(g_to, None)
            busy |= {g_from, g_to}
            moved = True
        return moved


def refine(
    grid_of: np.ndarray,
    c: Cells,
    target: float,
    tolerance: float,
    max_moves: int = 5000,
    near_weight: float = 1.0,
    keep_band: bool = False,
) -> np.ndarray:
    """Move single cells across grid boundaries while that lowers the households penalty (and keeps grids whole)."""
    refiner = _Refiner(grid_of.copy(), c, target, tolerance, near_weight, keep_band)
    for _ in range(max_moves):
        if refiner.move(*refiner.gains()):
            refiner.tried.clear()
        elif not _swap(refiner.grid_of, c, target, tolerance, near_weight):
            break
        else:
            refiner.members_of.clear()
    return refiner.grid_of


def smooth(grid_of: np.ndarray, c: Cells, target: float, tolerance: float, rounds: int = 30) -> np.ndarray:
    """Move boundary cells to the neighbouring grid they share more boundary with, while both grids stay in
    band and whole: each such move shortens the boundary between grids, so grids become more compact.

    Boundary is weighed as in the bisection (off-road length in full, along roads a quarter, along a
    barrier nothing), so a boundary on a road is the last to be smoothed away, and one on a barrier never.
    """
    hh, a, b = c.hh, c.a, c.b
    grid_of = grid_of.copy()
    n_grids = grid_of.max() + 1
    lo, hi = band(target, tolerance)
    graph = Graph(len(grid_of), a, b)
    ends, others = np.concatenate([a, b]), np.concatenate([b, a])
    weight = np.tile(np.where(c.across, 0.0, c.off + 0.25 * c.length), 2)  # a barrier is never smoothed away
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
            x, g_from, g_to = int(cell[i]), int(src[i]), int(grid[i])
            if g_from in busy or g_to in busy:
                continue
            donor = set(by_grid[start[g_from] : start[g_from + 1]].tolist())
            if len(donor) <= 1 or not graph.connected(donor - {x}):
                continue
            grid_of[x] = g_to
            busy |= {g_from, g_to}
            moved = True
        if not moved:
            break
    return grid_of


def _swap(grid_of: np.ndarray, c: Cells, target: float, tolerance: float, near_weight: float) -> bool:
    """Exchange one boundary cell each between two neighbouring grids when that helps an out-of-band grid."""
    hh, a, b = c.hh, c.a, c.b
    n_grids = grid_of.max() + 1
    gh = np.bincount(grid_of, weights=hh, minlength=n_grids)
    lo, hi = band(target, tolerance)
    cross = grid_of[a] != grid_of[b]
    pairs: dict[tuple[int, int], tuple[set[int], set[int]]] = {}
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
    if connected(trial == g1, a, b) and connected(trial == g2, a, b):
        grid_of[:] = trial
        return True
    return False
