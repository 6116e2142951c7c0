"""GCJ-02 and BD-09: known published pairs, and inverses good to well under 0.1 m."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo import coords

GEOD = Geod(ellps="WGS84")

# (wgs lon, wgs lat, gcj lon, gcj lat): Shanghai, Shenzhen, Beijing, as published with eviltransform.
KNOWN_GCJ = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]
# (wgs lon, wgs lat, bd lon, bd lat), from another public implementation (agrees to about a centimetre).
KNOWN_BD = [(121.0917077, 30.6107779, 121.10271732371203, 30.61484572185035)]


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize("wlon,wlat,glon,glat", KNOWN_GCJ)
def test_wgs84_to_gcj02_matches_published_pairs(wlon, wlat, glon, glat):
    x, y = coords.wgs84_to_gcj02(wlon, wlat)
    assert metres(x, y, glon, glat) < 0.001


@pytest.mark.parametrize("wlon,wlat,glon,glat", KNOWN_GCJ)
def test_gcj02_inverse_recovers_wgs84_within_a_decimetre(wlon, wlat, glon, glat):
    x, y = coords.to_wgs84(glon, glat, "gcj02")
    assert metres(x, y, wlon, wlat) < 0.1


@pytest.mark.parametrize("wlon,wlat,blon,blat", KNOWN_BD)
def test_bd09_pair_both_ways(wlon, wlat, blon, blat):
    x, y = coords.wgs84_to_bd09(wlon, wlat)
    assert metres(x, y, blon, blat) < 0.05
    x, y = coords.to_wgs84(blon, blat, "bd09")
    assert metres(x, y, wlon, wlat) < 0.1


def test_the_offset_near_panjin_is_hundreds_of_metres():
    x, y = coords.wgs84_to_gcj02(122.07, 41.12)
    assert 300 < metres(122.07, 41.12, x, y) < 1000


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0), st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_inside_china_is_within_a_decimetre(lon, lat, crs):
    fx, fy = coords.from_wgs84(lon, lat, crs)
    bx, by = coords.to_wgs84(fx, fy, crs)
    assert metres(lon, lat, bx, by) < 0.1


def test_outside_china_gcj02_is_the_identity():
    x, y = coords.wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])
    assert np.allclose(x, [2.35, -74.0]) and np.allclose(y, [48.85, 40.7])


def test_vectorised_conversion_matches_one_at_a_time():
    lon = np.linspace(121.9, 122.2, 50)
    lat = np.linspace(41.0, 41.2, 50)
    x, y = coords.to_wgs84(lon, lat, "gcj02")
    one = [coords.to_wgs84(a, b, "gcj02") for a, b in zip(lon, lat, strict=True)]
    assert np.allclose(x, [o[0] for o in one], atol=1e-9) and np.allclose(y, [o[1] for o in one], atol=1e-9)


@pytest.mark.parametrize(
    "lon,lat,message",
    [
        (float("nan"), 41.0, "lon nan is outside"),
        (122.0, 95.2, "lat 95.2 is outside −90..90"),
        (190.0, 41.0, "lon 190.0 is outside −180..180"),
    ],
)
def test_bad_coordinates_are_named(lon, lat, message):
    with pytest.raises(coords.CoordinateError, match=message):
        coords.to_wgs84(lon, lat, "gcj02")


def test_unknown_coordinate_system_is_refused():
    with pytest.raises(coords.CoordinateError, match="unknown coordinate system 'mars'"):
        coords.to_wgs84(122.0, 41.0, "mars")


def test_utm_zone_for_panjin():
    assert coords.utm_epsg(122.07, 41.12) == 32651
