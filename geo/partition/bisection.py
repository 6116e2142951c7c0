"""The cells split in two, again and again, until each part should hold one grid.

Each split is a straight sweep at one of several angles, choosing, among the cuts that divide the
households in the right proportion, the one whose boundary runs most along roads and is shortest
(compact grids); a part must stay in one piece.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.partition.model import Cells

ANGLES = np.deg2rad(np.arange(0, 180, 15))


class Bisector:
    """Recursive bisection; each call works on its own cells and the edges among them only, so the whole
    recursion costs about (cells + edges) × depth, not × number of grids."""

    def __init__(self, c: Cells, target: float, tolerance: float) -> None:
        self.xy, self.hh, self.a, self.b = c.xy, c.hh, c.a, c.b
        # A cut along a barrier (a major road, a railway, water) costs nothing: grids end there first.
        self.length, self.off = np.where(c.across, 0.0, c.length), np.where(c.across, 0.0, c.off)
        self.target, self.tolerance = target, tolerance
        self.rank = np.full(len(c.hh), -1)  # scratch: a cell's position in the order being tried

    def split(self, members: np.ndarray, k: int, edges: np.ndarray | None = None) -> list[np.ndarray]:
        """``members`` in ``k`` parts of about equal households (``edges``: those among them, if known)."""
        if edges is None:
            inside = np.zeros(len(self.hh), dtype=bool)
            inside[members] = True
            edges = np.flatnonzero(inside[self.a] & inside[self.b])
        if k <= 1 or len(members) <= 1:
            return [members]
        k1 = k // 2
        orders, angle, pos, ranked = self._candidate_cuts(members, edges, self.hh[members].sum() * k1 / k)
        for i in ranked:
            order, p = orders[angle[i]], int(pos[i])
            halves = self._halves(order, p, edges)
            if halves is not None:
                return self._recurse(order, p, k, k1, *halves)
        order, p = orders[angle[ranked[0]]], int(pos[ranked[0]])
        rank = self.rank
        rank[order] = np.arange(len(order))
        ea, eb = self.a[edges], self.b[edges]
        left_edges = edges[(rank[ea] <= p) & (rank[eb] <= p)]
        right_edges = edges[(rank[ea] > p) & (rank[eb] > p)]
        return self._recurse(order, p, k, k1, left_edges, right_edges)

    def _candidate_cuts(
        self, members: np.ndarray, edges: np.ndarray, ideal: float
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """The sweeps' orders of ``members``, and the best cuts of each (the sweep, the position after which
        it cuts) ranked: in the window first, cheapest boundary first; then the least imbalanced."""
        window = 0.5 * self.tolerance * self.target
        ea, eb, el, eo = self.a[edges], self.b[edges], self.length[edges], self.off[edges]
        rank = self.rank
        n = len(members)
        orders: list[np.ndarray] = []
        bad, cost, imb, angle, pos = [], [], [], [], []
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
        out_of_window, imbalances = np.concatenate(bad), np.concatenate(imb)
        ranked = np.lexsort(
            (imbalances, np.where(out_of_window, imbalances, np.concatenate(cost)), out_of_window)
        )
        return orders, np.concatenate(angle), np.concatenate(pos), ranked

    def _recurse(
        self,
        order: np.ndarray,
        p: int,
        k: int,
        k1: int,
        left_edges: np.ndarray,
        right_edges: np.ndarray,
    ) -> list[np.ndarray]:
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
