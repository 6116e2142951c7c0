"""What a re-split must keep: grids inside their communities, and no community made worse.

A re-split's grids never cross a community line when the input says which community each grid (or
building) belongs to: the old grids' outlines cut the cells as roads do, and no two cells of different
communities count as neighbours, so nothing can merge across them. Each community is then judged on its
own: a re-split that pushes an in-band grid out of band, or lowers the share of grids in band, is not
kept; a lighter one (boundary buildings moved only) is tried, and if nothing improves the community its
grids stay exactly as they were and the report says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.partition.contiguity import make_contiguous
from geo.partition.model import Cells


def grid_communities(
    grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, building_grid: np.ndarray, old_ids: list[str]
) -> np.ndarray | None:
    """Each old grid's community: the grids' ``community_id``, else the one most of its buildings name;
    None when neither layer says."""
    if "community_id" in grids.columns and grids["community_id"].notna().all():
        return grids["community_id"].astype(str).to_numpy()
    if "community_id" not in buildings.columns or buildings["community_id"].isna().all():
        return None
    named = pd.DataFrame({"grid": building_grid, "community": buildings["community_id"].to_numpy()}).dropna()
    most = named.groupby("grid")["community"].agg(lambda s: s.astype(str).mode().iloc[0])
    found = pd.Series(old_ids).map(most)
    return None if found.isna().any() else found.to_numpy(dtype=object)


def apart(c: Cells, cell_community: np.ndarray) -> Cells:
    """The cells with no adjacency across communities: no move, split or merge can join them."""
    same = cell_community[c.a] == cell_community[c.b]
    return dataclasses.replace(
        c, a=c.a[same], b=c.b[same], length=c.length[same], off=c.off[same], across=c.across[same]
    )


def _fit(grid_of: np.ndarray, hh: np.ndarray, lo: float, hi: float) -> tuple[float, float, set[int]]:
    """Share of grids in band, households outside the band in all (negated: higher is better), and the
    grids out of band."""
    labels, at = np.unique(grid_of, return_inverse=True)
    gh = np.bincount(at, weights=hh)
    out = (gh < lo) | (gh > hi)
    excess = np.maximum(lo - gh, 0) + np.maximum(gh - hi, 0)
    return float(np.mean(~out)), -float(excess.sum()), set(labels[out].tolist())


def _pushed_out(before: np.ndarray, after: np.ndarray, out_before: set[int], out_after: set[int]) -> bool:
    """Whether any grid in band before now has households in a grid out of band."""
    was_in = ~np.isin(before, list(out_before))
    return bool(np.isin(after[was_in], list(out_after)).any())


def judge(
    before: np.ndarray,
    base: np.ndarray,
    candidates: list[Callable[[], np.ndarray]],
    groups: np.ndarray,
    hh: np.ndarray,
    fit: tuple[float, float],
    n_old: int,
) -> tuple[np.ndarray, list[dict]]:
    """Each group's (community's) cells from the first candidate that improves it on ``before`` without
    making it worse; else ``base`` (``before`` made whole) if that is no worse, else ``before`` itself; and,
    for each group not improved that has grids out of band, which.

    Candidates are computed lazily (the lighter one only when the first fails somewhere). New grid labels
    from different candidates are kept apart (each from ``n_old`` on).
    """
    lo, hi = fit
    result = before.copy()
    pending = list(np.unique(groups))
    notes: list[dict] = []
    next_label = n_old
    for make in candidates:
        if not pending:
            break
        after = make()
        still = []
        for g in pending:
            m = groups == g
            verdict = _verdict(before[m], after[m], hh[m], lo, hi)
            if verdict > 0:
                labels = after[m].copy()
                fresh = labels >= n_old
                distinct, relabel = np.unique(labels[fresh], return_inverse=True)
                labels[fresh] = next_label + relabel
                result[m] = labels
                next_label += len(distinct)
            else:
                still.append(g)
        pending = still
    for g in pending:
        m = groups == g
        if _verdict(before[m], base[m], hh[m], lo, hi) >= 0:
            result[m] = base[m]
        out = sorted(_fit(result[m], hh[m], lo, hi)[2])
        if out:
            notes.append({"community": None if g == "" else str(g), "grids": out})
    return result, notes


def _verdict(before: np.ndarray, after: np.ndarray, hh: np.ndarray, lo: float, hi: float) -> int:
    """-1: ``after`` is worse than ``before`` (an in-band grid pushed out, or a lower share in band);
    1: better (a higher share, or as high with fewer households outside the band); 0: neither."""
    fb, fa = _fit(before, hh, lo, hi), _fit(after, hh, lo, hi)
    if fa[0] < fb[0] or _pushed_out(before, after, fb[2], fa[2]):
        return -1
    return 1 if fa[:2] > fb[:2] else 0


def as_before(grid_of: np.ndarray, before: np.ndarray, single: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """Which old grids (positions) end with exactly their cells of ``before``, none of them ``fresh`` (a new
    building's), among those ``single`` says: kept as they were, under their codes and in their own outline."""
    n = len(single)
    moved = (grid_of != before) | fresh
    touched = np.zeros(n + int(grid_of.max(initial=0)) + 1, dtype=bool)
    touched[grid_of[moved]] = True
    touched[before[moved]] = True
    present = np.zeros_like(touched)
    present[grid_of] = True
    return np.flatnonzero(present[:n] & ~touched[:n] & single)


def whole(
    grid_of: np.ndarray,
    c: Cells,
    before: np.ndarray,
    single: np.ndarray,
    fresh: np.ndarray,
    fit: tuple[float, float],
) -> np.ndarray:
    """Every grid in one piece of cells, except those kept as they were: a kept grid's own outline holds it
    together even where the cells do not (an outline drawn by hand, not from cells). A stray piece goes to
    the neighbour it harms least for the band ``fit``."""
    for _ in range(3):
        kept = np.isin(grid_of, as_before(grid_of, before, single, fresh))
        fixed = np.where(kept, grid_of, make_contiguous(grid_of, c, fit))
        if np.array_equal(fixed, grid_of):
            break
        grid_of = fixed
    return grid_of
