"""Coordinate systems of Chinese phones and web maps, and the metric projection for an area.

Amap, Tencent and WeChat report GCJ-02; Baidu reports BD-09; both are offset by up
to several hundred metres from WGS-84. Storage is WGS-84 (CGCS2000 is treated as
equal at street scale). The forward transforms are the published closed forms; the
inverses have no closed form, so they are iterated until the round trip is within
``INVERSE_TOLERANCE_DEG`` (about 0.01 m).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

CoordSystem = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = get_args(CoordSystem)
# Systems whose coordinates equal WGS-84 at this scale (CGCS2000 differs by centimetres): nothing to transform.
LIKE_WGS84: tuple[str, ...] = ("wgs84", "cgcs2000")
Transform = Callable[[ArrayLike, ArrayLike], tuple[NDArray, NDArray]]  # (lon, lat) to (lon, lat)

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 algorithm uses
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
INVERSE_TOLERANCE_DEG = 1e-7  # ≈ 0.01 m
_MAX_ITERATIONS = 30


class CoordinateError(ValueError):
    """Coordinates that are not numbers, or not on the Earth."""


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    return x, y


def check_lonlat(lon: ArrayLike, lat: ArrayLike) -> None:
    """Raise CoordinateError naming the first NaN or out-of-range value."""
    x, y = _arrays(lon, lat)
    for name, arr, lim in (("lon", x, 180.0), ("lat", y, 90.0)):
        bad = ~np.isfinite(arr) | (np.abs(arr) > lim)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise CoordinateError(f"{name} {arr.ravel()[i]} is outside −{lim:g}..{lim:g} (at index {i})")


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """GCJ-02 leaves coordinates outside China's rough bounding box unchanged."""
    x, y = _arrays(lon, lat)
    return (x < 72.004) | (x > 137.8347) | (y < 0.8293) | (y > 55.8271)


def _delta(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    dx, dy = x - 105.0, y - 35.0
    dlat = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * np.sqrt(np.abs(dx))
    dlat += (20.0 * np.sin(6.0 * dx * np.pi) + 20.0 * np.sin(2.0 * dx * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(dy * np.pi) + 40.0 * np.sin(dy / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(dy / 12.0 * np.pi) + 320.0 * np.sin(dy * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * np.sqrt(np.abs(dx))
    dlon += (20.0 * np.sin(6.0 * dx * np.pi) + 20.0 * np.sin(2.0 * dx * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(dx * np.pi) + 40.0 * np.sin(dx / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(dx / 12.0 * np.pi) + 300.0 * np.sin(dx / 30.0 * np.pi)) * 2.0 / 3.0
    rad = y / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    outside = out_of_china(x, y)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    x, y = _arrays(lon, lat)
    dlon, dlat = _delta(x, y)
    return x + dlon, y + dlat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(
    forward: Transform, lon: ArrayLike, lat: ArrayLike, guess: tuple[NDArray, NDArray]
) -> tuple[NDArray, NDArray]:
    """Solve forward(w) = target by fixed-point steps (the offsets vary slowly, so this converges fast)."""
    tx, ty = _arrays(lon, lat)
    wx, wy = guess
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(wx, wy)
        ex, ey = fx - tx, fy - ty
        wx, wy = wx - ex, wy - ey
        if np.all(np.abs(ex) < INVERSE_TOLERANCE_DEG / 10) and np.all(
            np.abs(ey) < INVERSE_TOLERANCE_DEG / 10
        ):
            break
    return wx, wy


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    x, y = _arrays(lon, lat)
    return _invert(wgs84_to_gcj02, x, y, (x.copy(), y.copy()))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    x, y = _arrays(lon, lat)
    return _invert(gcj02_to_bd09, x, y, (x - 0.0065, y - 0.006))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84: dict[str, Transform | None] = {
    "wgs84": None,
    "cgcs2000": None,
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84: dict[str, Transform | None] = {
    "wgs84": None,
    "cgcs2000": None,
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def _lookup(table: dict[str, Transform | None], crs: str) -> Transform | None:
    try:
        return table[crs.lower()]
    except KeyError:
        raise CoordinateError(
            f"unknown coordinate system {crs!r}; use one of {', '.join(COORD_SYSTEMS)}"
        ) from None


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str = "wgs84") -> tuple[NDArray, NDArray]:
    """Convert coordinates in ``crs`` (wgs84, cgcs2000, gcj02, bd09) to WGS-84, checking them first."""
    fn = _lookup(_TO_WGS84, crs)
    check_lonlat(lon, lat)
    return fn(lon, lat) if fn else _arrays(lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[NDArray, NDArray]:
    """WGS-84 to ``crs``: what a Chinese web map would show for these points."""
    fn = _lookup(_FROM_WGS84, crs)
    return fn(lon, lat) if fn else _arrays(lon, lat)


def geometries_to_wgs84(geoms: ArrayLike, crs: str) -> NDArray:
    """Convert every vertex of an array of shapely geometries from ``crs`` to WGS-84 (NaN stays NaN)."""
    fn = _lookup(_TO_WGS84, crs)
    arr = np.asarray(geoms, dtype=object)
    if fn is None:
        return arr
    return shapely.transform(arr, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


def utm_epsg(lon: float, lat: float) -> int:
    """The UTM zone EPSG code for a point: the metric projection for lengths and areas of an area."""
    zone = int((lon + 180) // 6) + 1
    return (32600 if lat >= 0 else 32700) + zone
