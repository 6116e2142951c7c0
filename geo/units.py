"""Buildings too big for one grid, split by their units (单元) for grid drawing.

A slab building's units are side-by-side stairwells along its long side, so a unit is a slice of the
footprint across that side: the cut runs along the walls between units, never through a home. A
building of more households than a grid may hold, with two or more units, becomes one piece per unit
(its households shared evenly, the first units taking any remainder); grids are then drawn over the
pieces, and each grid holds whole units. Pure: frames in, frames out.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coords import utm_epsg


def _slices(footprint: shapely.Geometry, n: int) -> list[shapely.Geometry]:
    """``n`` slices of a metric footprint across its long side (its minimum rotated rectangle's)."""
    ring = np.asarray(shapely.minimum_rotated_rectangle(footprint).exterior.coords)[:4]
    edges = np.diff(np.vstack([ring, ring[:1]]), axis=0)
    u = edges[np.argmax(np.hypot(*edges.T))]
    u = u / np.hypot(*u)
    v = np.array([-u[1], u[0]])
    xy = shapely.get_coordinates(footprint)
    along = xy @ u
    lo, hi = along.min(), along.max()
    reach = 2 * (hi - lo) + 2 * np.abs(xy @ v).max() + 1
    cuts = np.linspace(lo, hi, n + 1)
    cuts[0], cuts[-1] = lo - 1, hi + 1  # the end strips reach past the footprint
    strips = [
        shapely.Polygon([a * u - reach * v, b * u - reach * v, b * u + reach * v, a * u + reach * v])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    return [shapely.intersection(footprint, s) for s in strips]


def split_by_units(
    buildings: gpd.GeoDataFrame, households_field: str, units_field: str, upper: float
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The buildings with each one above ``upper`` households (and of 2+ units) replaced by its unit slices.

    Returns the pieces (a fresh index; ``households`` in ``households_field``) and, per piece, the
    building it came from (``building``: the input's index label; ``position``: its row) and its unit
    (``unit``, 1-based; 0 for a building kept whole).
    """
    units = pd.to_numeric(buildings[units_field], errors="coerce").fillna(1).astype(int).to_numpy()
    hh = pd.to_numeric(buildings[households_field], errors="coerce").to_numpy()
    big = np.flatnonzero((hh > upper) & (units >= 2))
    origin = pd.DataFrame({"building": buildings.index, "position": np.arange(len(buildings)), "unit": 0})
    if not len(big):
        return buildings.reset_index(drop=True), origin
    centre = shapely.union_all(buildings.geometry.values[big]).centroid
    epsg = utm_epsg(*centre.coords[0]) if buildings.crs.is_geographic else buildings.crs.to_epsg()
    metric = buildings.geometry.iloc[big].to_crs(epsg).values
    rows, pieces, origins = [], [], []
    for i, fp in zip(big, metric, strict=True):
        n = int(units[i])
        share = np.full(n, int(hh[i]) // n) + (np.arange(n) < int(hh[i]) % n)
        for unit, (piece, h) in enumerate(zip(_slices(fp, n), share, strict=True), start=1):
            rows.append(
                {**buildings.iloc[i].drop(buildings.geometry.name).to_dict(), households_field: int(h)}
            )
            pieces.append(piece)
            origins.append((buildings.index[i], i, unit))
    whole = np.setdiff1d(np.arange(len(buildings)), big)
    sliced = gpd.GeoDataFrame(
        rows, geometry=gpd.GeoSeries(pieces, crs=epsg).to_crs(buildings.crs).values, crs=buildings.crs
    )
    out = pd.concat([buildings.iloc[whole], sliced], ignore_index=True)
    origin = pd.concat(
        [origin.iloc[whole], pd.DataFrame(origins, columns=["building", "position", "unit"])],
        ignore_index=True,
    )
    return gpd.GeoDataFrame(out, geometry=buildings.geometry.name, crs=buildings.crs), origin


def collapse(
    assignments: np.ndarray, households: np.ndarray, origin: pd.DataFrame, n_buildings: int
) -> tuple[np.ndarray, pd.DataFrame]:
    """Back from pieces to buildings: each building's grid (a split one's: the grid holding most of its
    households, the lower id on a tie) and, for split buildings, which grid holds which run of units."""
    table = origin.assign(grid_id=assignments, households=households)
    grid = np.empty(n_buildings, dtype=object)
    whole = table[table["unit"] == 0]
    grid[whole["position"].to_numpy()] = whole["grid_id"].to_numpy()
    split = table[table["unit"] > 0].sort_values(["position", "unit"])
    columns = ["building", "unit_from", "unit_to", "households", "grid_id"]
    if split.empty:
        return grid, pd.DataFrame(columns=columns)
    majority = (
        split.groupby(["position", "grid_id"])["households"]
        .sum()
        .reset_index()
        .sort_values(["position", "households", "grid_id"], ascending=[True, False, True])
        .drop_duplicates("position")
    )
    grid[majority["position"].to_numpy()] = majority["grid_id"].to_numpy()
    new_run = (split["grid_id"] != split["grid_id"].shift()) | (
        split["position"] != split["position"].shift()
    )
    runs = (
        split.assign(run=new_run.cumsum())
        .groupby("run")
        .agg(
            building=("building", "first"),
            unit_from=("unit", "min"),
            unit_to=("unit", "max"),
            households=("households", "sum"),
            grid_id=("grid_id", "first"),
        )
    )
    return grid, runs.reset_index(drop=True)[columns]
