"""Locating: one point as a person asks about it (the API), and points in bulk (a file's rows, read by
``boundaries.points``) against the stored or a file hierarchy, in chunks so progress can be shown."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from core.errors import Invalid
from core.people import place, public_person
from core.vocabulary import COORD_SYSTEMS
from geo.coords import CoordinateError, to_wgs84
from geo.locate import RESULT_COLUMNS, Hierarchy, Locator
from store.locate import locate_point

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


def locate_one(conn: Connection, lon: float, lat: float, crs: str, *, srid: int, search_m: float) -> dict:
    """One point as a person asks about it: every level with its name, the nearest responsible segment, its
    chiefs and the grid worker (phones masked); a point in no grid says so in ``status``."""
    if crs not in COORD_SYSTEMS:
        raise Invalid(f"crs {crs!r} is not one of {', '.join(COORD_SYSTEMS)}")
    try:
        xs, ys = to_wgs84(lon, lat, crs)
    except CoordinateError as exc:
        raise Invalid(str(exc)) from None
    x, y = float(xs), float(ys)
    row = locate_point(conn, x, y, srid=srid, search_m=search_m)
    workers = [public_person(p) for p in row["grid_workers"]]
    return {
        "query": {"lon": lon, "lat": lat, "crs": crs},
        "wgs84": {"lon": round(x, 8), "lat": round(y, 8)},
        "status": row["status"],
        **{level: place(row, level) for level in ("street", "community", "grid", "building")},
        "segment": _segment(row),
        "street_chiefs": [public_person(p) for p in row["street_chiefs"]],
        "grid_worker": workers[0] if workers else None,
    }


def _segment(row: dict) -> dict | None:
    if not row["segment_id"]:
        return None
    return {
        "id": row["segment_id"],
        "name": row["segment_name"],
        "road_name": row["road_name"],
        "from": row["from_desc"],
        "to": row["to_desc"],
        "distance_m": round(float(row["segment_distance_m"]), 2),
    }
