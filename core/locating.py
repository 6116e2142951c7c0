"""Bulk locating of points (a file's rows, read by ``boundaries.points``) against the stored or a file
hierarchy, in chunks so progress can be shown."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from geo.locate import RESULT_COLUMNS, Hierarchy, Locator

CHUNK = 250_000


def locate_frame(
    hierarchy: Hierarchy,
    frame: pd.DataFrame,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    crs: str = "wgs84",
    segment_search_m: float = 50.0,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """``frame`` with the result columns added, located in chunks so progress can be shown."""
    locator = Locator(hierarchy, segment_search_m=segment_search_m)
    parts = []
    for start in range(0, len(lon), CHUNK):
        parts.append(locator.locate_arrays(lon[start : start + CHUNK], lat[start : start + CHUNK], crs))
        if progress:
            progress(min(CHUNK, len(lon) - start))
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(RESULT_COLUMNS))
    out = frame.copy()
    for col in RESULT_COLUMNS:
        out[col] = result[col].to_numpy()
    return out
