"""Binning incident points for heat maps, so a page stays small at any volume and stays honest.

Points are summed into square cells of about ``cell_m`` metres (a local equirectangular
grid: at district scale it is within a fraction of a percent of true metres, and binning
needs nothing better); each cell is drawn at the weighted mean of its own points, not at
the cell centre, with the summed weight. A cell is much smaller than the heat kernel's
radius at street zoom, so moving each point by less than its cell's spread cannot make a
hot spot appear or vanish: the kernel sums the same weight within a few metres of where it
really was. Nothing is dropped: every point's weight is in exactly one cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

Times = pd.Series | pd.Index | np.ndarray | Sequence[date]  # what pandas reads as times (datetimes are dates)

# Heavier tiers weigh more on the heat layer: a city matter is not the same as litter.
TIER_WEIGHTS = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0}
STEPS = ("day", "week")
M_PER_DEG_LAT = 110_574.0
BEIJING_S = 8 * 3600
DENSE_CELLS = 8_000_000
HEAT_CELL_M = 12.0
# The time slider holds one frame per day or week: its cells grow (never past a block) until the
# frames fit a budget, so a long period at any volume still makes a small page.
TIME_CELLS_M = (30.0, 45.0, 60.0, 90.0, 120.0)
TIME_BUDGET = 50_000


def tier_weights(tiers: ArrayLike) -> np.ndarray:
    """Each tier's weight (an unknown tier weighs 1)."""
    codes = pd.Index(list(TIER_WEIGHTS)).get_indexer(pd.Index(np.asarray(tiers, dtype=object)))
    return np.append(np.array(list(TIER_WEIGHTS.values())), 1.0)[codes]


def cell_scale(lat0: float, cell_m: float) -> tuple[float, float]:
    """Cells per degree of longitude and of latitude for cells of ``cell_m`` near latitude ``lat0`` (one
    formula for the binning here and the binning in PostGIS, so both draw the same cells)."""
    return M_PER_DEG_LAT * math.cos(math.radians(lat0)) / cell_m, M_PER_DEG_LAT / cell_m


def bin_points(
    lon: ArrayLike,
    lat: ArrayLike,
    weight: ArrayLike,
    *,
    cell_m: float,
    keys: ArrayLike | None = None,
    lat0: float | None = None,
) -> pd.DataFrame:
    """Sum weights per cell (and per integer ``keys`` value, e.g. a time step); cells are square near
    ``lat0`` (default: the points' mean latitude).

    Returns columns ``key``, ``lon``, ``lat`` (weighted mean of the cell's points), ``weight``, ``n``.
    """
    lon, lat, weight = (np.asarray(a, dtype=float) for a in (lon, lat, weight))
    if len(lon) == 0:
        return pd.DataFrame({"key": np.array([], np.int64), "lon": [], "lat": [], "weight": [], "n": []})
    sx, sy = cell_scale(float(np.mean(lat)) if lat0 is None else lat0, cell_m)
    ix = np.floor(lon * sx).astype(np.int64)
    iy = np.floor(lat * sy).astype(np.int64)
    key = np.zeros(len(lon), np.int64) if keys is None else np.asarray(keys, np.int64)
    k0, x0, y0 = key.min(), ix.min(), iy.min()
    nk, nx, ny = int(key.max() - k0 + 1), int(ix.max() - x0 + 1), int(iy.max() - y0 + 1)
    code = ((key - k0) * nx + (ix - x0)) * ny + (iy - y0)
    if nk * nx * ny <= max(DENSE_CELLS, 4 * len(code)):
        # Few enough possible cells to count them all directly: no sort needed.
        n = np.bincount(code, minlength=nk * nx * ny)
        used = np.flatnonzero(n)
        inverse, n = None, n[used]
        sums = [
            np.bincount(code, weights=v, minlength=nk * nx * ny)[used]
            for v in (weight, lon * weight, lat * weight)
        ]
    else:
        used, inverse = np.unique(code, return_inverse=True)
        n = np.bincount(inverse)
        sums = [np.bincount(inverse, weights=v) for v in (weight, lon * weight, lat * weight)]
    w = sums[0]
    safe = np.where(w > 0, w, 1.0)
    return pd.DataFrame(
        {"key": used // (nx * ny) + k0, "lon": sums[1] / safe, "lat": sums[2] / safe, "weight": w, "n": n}
    )


def time_keys(times: Times, step: str) -> np.ndarray:
    """Each time's local (Beijing) day, or Monday-started week, as days since 1970-01-01."""
    if step not in STEPS:
        raise ValueError(f"step {step!r} is not one of {', '.join(STEPS)}")
    # Straight to a DatetimeIndex: going through a numpy object array would cost seconds per million.
    seconds = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).as_unit("s").asi8 + BEIJING_S
    day = seconds // 86400
    return day if step == "day" else day - (day + 3) % 7  # 1970-01-01 was a Thursday


def key_label(key: int) -> str:
    return str(np.datetime64(int(key), "D"))


@dataclass(frozen=True)
class HeatCells:
    """What a heat page draws: sums of tier weights per cell, never the points, so its size and the time to
    build it grow with the cells, not with the incidents.

    ``cells``: ``HEAT_CELL_M`` cells of the whole period; ``frames``: ``TIME_CELLS_M[0]`` cells per time
    ``key``; both with ``lon``, ``lat`` (the weighted mean of the cell's points), ``weight`` and ``n``.
    """

    total: int  # incidents summed
    cells: pd.DataFrame
    frames: pd.DataFrame
    lat0: float  # the latitude at which cells are square

    @classmethod
    def of_points(cls, lon: ArrayLike, lat: ArrayLike, weight: ArrayLike, keys: ArrayLike) -> HeatCells:
        """The cells of points in memory (what PostGIS sums for a page, for points that are not stored)."""
        lat = np.asarray(lat, dtype=float)
        lat0 = float(np.mean(lat)) if len(lat) else 0.0
        return cls(
            len(lat),
            bin_points(lon, lat, weight, cell_m=HEAT_CELL_M, lat0=lat0),
            bin_points(lon, lat, weight, cell_m=TIME_CELLS_M[0], keys=keys, lat0=lat0),
            lat0,
        )

    def time_frames(self) -> pd.DataFrame:
        """The slider's frames in the smallest cells that fit ``TIME_BUDGET``: the finest cells merged into
        coarser ones (a merged cell keeps its weight and the weighted mean of its points exactly; its ``n``
        counts the cells merged)."""
        frames = self.frames
        for cell in TIME_CELLS_M[1:]:
            if len(frames) <= TIME_BUDGET:
                break
            f = self.frames
            frames = bin_points(f["lon"], f["lat"], f["weight"], cell_m=cell, keys=f["key"], lat0=self.lat0)
        return frames
