"""Locating: one point as a person asks about it (the API), and points in bulk (a file's rows, read by
``boundaries.points``) against the stored or a file hierarchy, in chunks so progress can be shown."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from core.errors import Invalid, Unprocessable
from core.people import place, public_person
from core.vocabulary import COORD_SYSTEMS
from geo.coords import CoordinateError, to_wgs84
from geo.locate import RESULT_COLUMNS, Hierarchy, Locator
from store.hierarchy import service_bounds
from store.locate import locate_point

CHUNK = 250_000
# How far beyond the stored streets' bounds a point may lie and still be asked about (about 50 km): far
# enough for a point just outside the district, near enough that its metric projection stays exact.
SERVICE_MARGIN_DEG = 0.5
_BOUNDS_TTL_S = 60.0
_bounds: dict[str, tuple[float, tuple[float, float, float, float] | None]] = {}
# What a located row holds beside its status and people (all empty for a point far outside).
OUTSIDE_FIELDS = tuple(
    f"{level}_{part}" for level in ("street", "community", "grid", "building") for part in ("id", "name")
) + ("segment_id",)


def in_service_area(conn: Connection, lon: float, lat: float) -> bool:
    """Whether a point lies near enough the stored streets to be projected and asked about: a point a
    quarter of the globe away has no place in the district's UTM zone."""
    key = conn.engine.url.render_as_string(hide_password=True)
    cached = _bounds.get(key)
    if cached is None or time.monotonic() - cached[0] > _BOUNDS_TTL_S:
        cached = _bounds[key] = (time.monotonic(), service_bounds(conn))
    box, m = cached[1], SERVICE_MARGIN_DEG
    return box is not None and box[0] - m <= lon <= box[2] + m and box[1] - m <= lat <= box[3] + m


def require_in_service_area(conn: Connection, lon: float, lat: float) -> None:
    """Refuse (422) a point far outside the service area, before anything projects it."""
    if not in_service_area(conn, lon, lat):
        raise Unprocessable(
            f"坐标 {lon}, {lat} 不在服务范围 is outside the service area",
            title="不在服务范围 Outside the service area",
        )


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
    row: dict
    if not in_service_area(conn, lon, lat):  # far away: answered without projecting it
        row = {
            **dict.fromkeys(OUTSIDE_FIELDS),
            "status": "outside_service_area",
            "grid_workers": [],
            "street_chiefs": [],
        }
    else:
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
