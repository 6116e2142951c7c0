"""Grids drawn afresh in one parent: bisection, then balancing and smoothing; coarse inputs try nearby counts
of grids."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.partition.balance import refine, smooth
from geo.partition.barriers import crossings, joined, regions
from geo.partition.bisection import Bisector
from geo.partition.keep import apart
from geo.partition.model import Cells, Partition, PartitionError, band, labels
from geo.partition.prepare import prepare
from geo.partition.report import finish
from geo.units import collapse, split_by_units

BARRIER_JOINS = 6  # at most this many regions joined across a barrier to bring grids into band
COARSE_CELLS = 5000  # up to this many cells, other counts of grids are tried when some end out of band


def _reading_order(c: Cells, parts: list[np.ndarray]) -> np.ndarray:
    """North-west to south-east, so neighbouring grids get neighbouring numbers."""
    centres = np.array([c.xy[p].mean(axis=0) for p in parts])
    return np.lexsort((centres[:, 0], -np.round(centres[:, 1] / 200.0)))


def _draw(c: Cells, groups: list[tuple[np.ndarray, int]], target: int, tolerance: float) -> np.ndarray:
    """Each cell's grid: each group of cells bisected into its count of grids, then balancing, then
    smoothing."""
    bisector = Bisector(c, target, tolerance)
    parts = [part for members, k in groups for part in bisector.split(members, k)]
    grid_of = refine(labels(parts, len(c.cells)), c, target, tolerance)
    return smooth(grid_of, c, target, tolerance)


def _per_region(c: Cells, region: np.ndarray, target: int, tolerance: float) -> list[tuple[np.ndarray, int]]:
    """Each region's cells and the count of grids its households make (in band on average where it can)."""
    lo, hi = band(target, tolerance)
    out = []
    for r in np.unique(region):
        members = np.flatnonzero(region == r)
        h = c.hh[members].sum()
        out.append((members, max(1, min(max(round(h / target), math.ceil(h / hi)), math.floor(h / lo)))))
    return out


def _fit(grid_of: np.ndarray, hh: np.ndarray, target: float, lo: float, hi: float) -> tuple[float, float]:
    """How well grids fit: the share in band, then (negated) the mean distance from the target."""
    gh = np.bincount(grid_of, weights=hh)
    return float(np.mean((gh >= lo) & (gh <= hi))), -float(np.mean(np.abs(gh - target)))


def _free(c: Cells, target: int, tolerance: float) -> tuple[np.ndarray, tuple[float, float]]:
    """Grids drawn over all cells, as many as the households make; for coarse inputs also the nearby counts
    that can be in band on average, keeping the best fit."""
    lo, hi = band(target, tolerance)
    total = c.hh.sum()
    k = max(1, int(round(total / target)))
    everything = np.arange(len(c.cells))
    grid_of = _draw(c, [(everything, k)], target, tolerance)
    fit = _fit(grid_of, c.hh, target, lo, hi)
    if fit[0] < 1.0 and len(c.cells) <= COARSE_CELLS:
        # Coarse buildings (towers of hundreds of households) fit the band better in some counts of grids
        # than others: try the nearby counts that can be in band on average, and keep the best.
        feasible = range(max(1, math.ceil(total / hi)), max(1, math.floor(total / lo)) + 1)
        for other in sorted((n for n in feasible if 0 < abs(n - k) <= 3), key=lambda n: (abs(n - k), n)):
            trial = _draw(c, [(everything, other)], target, tolerance)
            if (trial_fit := _fit(trial, c.hh, target, lo, hi)) > fit:
                grid_of, fit = trial, trial_fit
    return grid_of, fit


def _walled(
    c: Cells, region: np.ndarray, target: int, tolerance: float, free_share: float
) -> tuple[np.ndarray, tuple[float, float]]:
    """Grids drawn region by region (no barrier crossed between regions); while fewer grids end in band than
    drawing freely gives (``free_share``), a region holding a grid out of band joins a neighbour across its
    barrier, one at a time, as long as that helps."""
    lo, hi = band(target, tolerance)
    grid_of = _draw(apart(c, region), _per_region(c, region, target, tolerance), target, tolerance)
    fit = _fit(grid_of, c.hh, target, lo, hi)
    tried: set[int] = set()
    for _ in range(BARRIER_JOINS):
        if fit[0] >= free_share:
            break
        gh = np.bincount(grid_of, weights=c.hh)
        out = np.isin(grid_of, np.flatnonzero((gh < lo) | (gh > hi))) & (c.hh > 0)
        candidates = [r for r in np.unique(region[out]) if r not in tried]
        if not candidates:
            break
        r = int(candidates[0])
        tried.add(r)
        h = np.bincount(region, weights=c.hh, minlength=region.max() + 1)
        merged = joined(c, region, r, h, lo, hi)
        if merged is None:
            continue
        trial = _draw(apart(c, merged), _per_region(c, merged, target, tolerance), target, tolerance)
        if (trial_fit := _fit(trial, c.hh, target, lo, hi)) > fit:
            region, grid_of, fit = merged, trial, trial_fit
    return grid_of, fit


def draw_one(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoSeries | gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    households_field: str = "households",
    target: int = 500,
    tolerance: float = 0.1,
    id_prefix: str = "G",
    units_field: str | None = None,
    barriers: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
) -> Partition:
    """Grids of ``target`` ± ``tolerance`` households that exactly tile ``boundary``, drawn as one parent
    (``geo.partition.features.draw_grids`` draws a boundary of several features with ids feature by feature).

    With ``units_field`` (units per building), a building above the band's upper bound is split by its
    units (``geo.units``): grids hold whole units, ``Partition.units`` says which, and the building's
    ``assignments`` entry is the grid holding most of its households.

    ``barriers`` (major roads, railways, water: lines) are crossed only where the band cannot be met
    otherwise (``geo.partition.barriers``); the report counts the grids that cross one.
    """
    if units_field is None:
        return _draw_grids(
            buildings, boundary, roads, households_field, target, tolerance, id_prefix, barriers
        )
    if units_field not in buildings.columns:
        raise PartitionError(f"buildings have no {units_field!r} column")
    pieces, origin = split_by_units(buildings, households_field, units_field, target * (1 + tolerance))
    result = _draw_grids(pieces, boundary, roads, households_field, target, tolerance, id_prefix, barriers)
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
    boundary: gpd.GeoSeries | gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None,
    households_field: str,
    target: int,
    tolerance: float,
    id_prefix: str,
    barriers: gpd.GeoSeries | gpd.GeoDataFrame | None,
) -> Partition:
    c = prepare(buildings, boundary, roads, households_field, barriers=barriers)
    lo, hi = band(target, tolerance)
    grid_of, fit = _free(c, target, tolerance)
    region = regions(c, lo, hi) if c.across.any() else None
    if region is not None and len(np.unique(region)) > 1:
        # Barriers are kept unless the band is met better by crossing them (coarse towers can need it).
        walled, walled_fit = _walled(c, region, target, tolerance, fit[0])
        if walled_fit[0] >= fit[0]:
            grid_of, fit = walled, walled_fit
    parts = [np.flatnonzero(grid_of == i) for i in range(grid_of.max() + 1)]
    parts = [parts[i] for i in _reading_order(c, parts)]
    ids = [f"{id_prefix}{n:02d}" for n in range(1, len(parts) + 1)]
    result = finish(c, parts, ids, target, tolerance)
    result.report["barrier_crossings"] = crossings(grid_of, c) if c.across.any() else 0
    return result
