"""Each grid's households, compactness (Polsby–Popper) and band, and why a grid out of band is so."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.partition.adjacency import near_road_length
from geo.partition.model import Cells, Partition, band, labels
from geo.partition.tessellate import union_by


def polsby_popper(geoms: np.ndarray) -> np.ndarray:
    """4πA/P²: 1 for a circle, near 0 for a sliver (geometries in a metric CRS)."""
    area, perim = shapely.area(geoms), shapely.length(geoms)
    return np.where(perim > 0, 4 * np.pi * area / np.maximum(perim, 1e-12) ** 2, 0.0)


def finish(c: Cells, parts: list[np.ndarray], ids: list[str], target: int, tolerance: float) -> Partition:
    """The grids made of ``parts`` (lists of cells) under ``ids``, each building's grid, and the report."""
    lo, hi = band(target, tolerance)
    grid_of = labels(parts, len(c.cells))
    # A building's grid is its cell's (buildings whose footprints overlap share their leader's cell).
    cell_of = np.full(len(c.building_hh), -1)
    cell_of[c.owner[c.owner >= 0]] = np.flatnonzero(c.owner >= 0)
    building_grid = grid_of[cell_of[c.leader]]
    assignment = np.asarray(ids, dtype=object)[building_grid]
    geoms = union_by(c.cells, grid_of, len(parts))
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


def _road_share(grids: np.ndarray, parent: shapely.Geometry, roads_m: gpd.GeoSeries | None) -> float | None:
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
