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

from collections.abc import Sequence
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


def tier_weights(tiers: ArrayLike) -> np.ndarray:
    """Each tier's weight (an unknown tier weighs 1)."""
    codes = pd.Index(list(TIER_WEIGHTS)).get_indexer(pd.Index(np.asarray(tiers, dtype=object)))
    return np.append(np.array(list(TIER_WEIGHTS.values())), 1.0)[codes]


def bin_points(
    lon: ArrayLike, lat: ArrayLike, weight: ArrayLike, *, cell_m: float, keys: ArrayLike | None = None
) -> pd.DataFrame:
    """Sum weights per cell (and per integer ``keys`` value, e.g. a time step).

    Returns columns ``key``, ``lon``, ``lat`` (weighted mean of the cell's points), ``weight``, ``n``.
    """
    lon, lat, weight = (np.asarray(a, dtype=float) for a in (lon, lat, weight))
    if len(lon) == 0:
        return pd.DataFrame({"key": np.array([], np.int64), "lon": [], "lat": [], "weight": [], "n": []})
    lat0 = float(np.mean(lat))
    ix = np.floor(lon * (M_PER_DEG_LAT * np.cos(np.radians(lat0)) / cell_m)).astype(np.int64)
    iy = np.floor(lat * (M_PER_DEG_LAT / cell_m)).astype(np.int64)
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
