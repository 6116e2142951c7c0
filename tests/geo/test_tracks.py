"""GPS tracks: reading three formats, cleaning noise, spikes, rides and gaps, and coverage with known answers."""

from __future__ import annotations

import json

import gpxpy.gpx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo.coords import from_wgs84
from geo.network import build_network
from geo.tracks import Track, TrackError, clean, passed, read_points, together, walked
from tests.geo.test_patrol import E0, N0, lattice

TO_WGS = Transformer.from_crs(32651, 4326, always_xy=True)
T0 = 1_790_000_000.0  # some morning in 2026


def stroll(
    xy: list[tuple[float, float]],
    t0: float = T0,
    *,
    every_s: float = 5.0,
    kmh: float = 4.0,
    drift_m: float = 0.0,
    seed: int = 1,
) -> pd.DataFrame:
    """Fixes every ``every_s`` seconds walking along the UTM polyline ``xy``."""
    line = shapely.LineString(xy)
    step = kmh / 3.6 * every_s
    pts = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.arange(0, line.length + step / 2, step))
    )
    pts += np.random.default_rng(seed).normal(0, drift_m, pts.shape) if drift_m else 0
    lon, lat = TO_WGS.transform(pts[:, 0], pts[:, 1])
    return pd.DataFrame({"t": t0 + every_s * np.arange(len(pts)), "lon": lon, "lat": lat})


def metric(track: Track) -> shapely.MultiLineString:
    back = Transformer.from_crs(4326, 32651, always_xy=True)
    return shapely.transform(track.geometry(), lambda xy: np.column_stack(back.transform(*xy.T)))


def messy_walk() -> pd.DataFrame:
    """The south street, a phone silent for ten minutes, then the north street; two spikes, a bus ride."""
    south = stroll([(E0, N0), (E0 + 200, N0)], drift_m=3)
    north = stroll([(E0, N0 + 200), (E0 + 200, N0 + 200)], south.t.iloc[-1] + 600, drift_m=3, seed=2)
    bus = stroll([(E0 + 200, N0 + 200), (E0 + 5200, N0 + 200)], north.t.iloc[-1], every_s=30, kmh=40)
    walk = pd.concat([south, north, bus.iloc[1:]], ignore_index=True)
    for i in (10, 60):  # the signal bounces 400 m away for one fix
        walk.loc[i, "lon"] += 0.005
    return walk


def test_cleaning_drops_spikes_and_cuts_at_gaps_and_rides():
    walk = messy_walk()
    track = clean(walk)
    r = track.report
    assert r["points"] == len(walk) and r["jumps"] == 2 and r["gaps"] == 1
    # Every bus fix is too fast from the one before: cut off, each alone, so dropped.
    bus_fixes = len(walk) - 2 * len(stroll([(E0, N0), (E0 + 200, N0)]))
    assert r["too_fast_cuts"] == bus_fixes and r["isolated"] == bus_fixes
    assert r["pieces"] == 2 and r["kept"] == len(walk) - 2 - bus_fixes
    # Two 200 m streets: the 3 m scatter does not add to the distance walked.
    assert r["length_m"] == pytest.approx(400, abs=8)
    # Nothing is assumed walked across the silence: the middle street is not covered.
    network = build_network(lattice())
    lines = np.array([d["geometry"] for *_, d in network.graph.edges(keys=True, data=True)], dtype=object)
    junctions = np.array(
        [network.graph.nodes[n]["xy"] for n in network.graph if network.graph.degree(n) >= 3]
    )
    shares = walked(lines, np.array([metric(track)], dtype=object), ["w"], junctions=junctions).share
    for line, share in zip(lines, shares, strict=True):
        (x0, y0), (x1, y1) = np.round(line.coords[0], 3), np.round(line.coords[-1], 3)
        if y0 == y1 == N0 + 100:
            assert share == 0
        elif y0 == y1:
            assert share == 1
        elif x0 == x1 == E0 + 100:
            # Walking past the end of a cross street at a junction is not walking it (but for the 3 m scatter).
            assert share < 0.06
        else:
            # Turning a corner (no junction): 20 of its 70 m away from the far junction (20 + 10 m of scatter)
            # are within 20 m of the walk, plus the scatter.
            assert 0.28 <= share <= 0.40


def test_coverage_is_per_owner_and_within_the_distance():
    line = np.array([shapely.LineString([(E0, N0), (E0 + 100, N0)])], dtype=object)
    near = shapely.LineString([(E0, N0 + 19), (E0 + 50, N0 + 19)])
    far = shapely.LineString([(E0 + 50, N0 + 21), (E0 + 100, N0 + 21)])
    # Two fixes 100 m apart still count along their whole line: tracks are densified before searching.
    sparse = shapely.LineString([(E0, N0 - 5), (E0 + 100, N0 - 5)])
    result = walked(line, np.array([near, far, sparse], dtype=object), ["a", "b", "c"])
    # Half the road alongside, and the 6.2 m past its end still within 20 m of its last fix (√(20² − 19²)).
    assert result.by_owner["a"][0] == pytest.approx(0.562, abs=0.02) and result.by_owner["b"][0] == 0
    assert result.by_owner["c"][0] == 1 and result.share[0] == 1
    assert walked(line, np.array([far], dtype=object), ["b"]).share[0] == 0


def test_gcj02_tracks_land_on_the_same_roads():
    walk = stroll([(E0, N0), (E0 + 200, N0)])
    shifted = walk.copy()
    shifted["lon"], shifted["lat"] = from_wgs84(walk.lon.to_numpy(), walk.lat.to_numpy(), "gcj02")
    plain, converted = clean(walk), clean(shifted, "gcj02")
    gap = shapely.hausdorff_distance(metric(plain), metric(converted))
    assert gap < 0.5
    # Read as WGS-84 by mistake, the same file sits hundreds of metres off.
    assert shapely.hausdorff_distance(metric(plain), metric(clean(shifted))) > 100


def _gpx(walk: pd.DataFrame) -> bytes:
    gpx = gpxpy.gpx.GPX()
    track, seg = gpxpy.gpx.GPXTrack(), gpxpy.gpx.GPXTrackSegment()
    seg.points = [
        gpxpy.gpx.GPXTrackPoint(
            latitude=r.lat, longitude=r.lon, time=pd.Timestamp(r.t, unit="s", tz="UTC").to_pydatetime()
        )
        for r in walk.itertuples()
    ]
    track.segments.append(seg)
    gpx.tracks.append(track)
    return gpx.to_xml().encode()


def test_gpx_geojson_and_csv_read_the_same_walk():
    walk = stroll([(E0, N0), (E0 + 100, N0), (E0 + 100, N0 + 100)])
    stamps = pd.to_datetime(walk.t, unit="s", utc=True)
    points_geojson = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                    "properties": {"time": s.isoformat()},
                }
                for r, s in zip(walk.itertuples(), stamps, strict=True)
            ],
        }
    ).encode()
    line_geojson = json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": walk[["lon", "lat"]].values.tolist()},
            "properties": {"times": [s.isoformat() for s in stamps]},
        }
    ).encode()
    # Phones export local time without a zone: Beijing.
    local = stamps.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M:%S")
    csv_text = "time,lng,lat\n" + "".join(
        f"{t},{r.lon!r},{r.lat!r}\n" for t, r in zip(local, walk.itertuples(), strict=True)
    )
    for data, fmt in (
        (_gpx(walk), "gpx"),
        (points_geojson, "geojson"),
        (line_geojson, "geojson"),
        (csv_text.encode(), "csv"),
    ):
        got = read_points(data, fmt)
        np.testing.assert_allclose(got.t, walk.t)
        np.testing.assert_allclose(got[["lon", "lat"]], walk[["lon", "lat"]], atol=1e-7)


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"<gpx><trk><trkseg><trkpt lat='1'", "gpx", "malformed GPX"),
        (b"<gpx version='1.1' xmlns='http://www.topografix.com/GPX/1/1'></gpx>", "gpx", "no track points"),
        (b"time,east\n2026-01-01 08:00:00,1\n", "csv", "column named one of lon"),
        (
            b'{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}',
            "geojson",
            "'times' property",
        ),
        (b"lon,lat,time\nnan,41,2026-01-01 08:00\n", "csv", None),
        (b"anything", "kml", "track format must be one of"),
    ],
)
def test_bad_tracks_get_a_clear_error(data, fmt, message):
    with pytest.raises(TrackError, match=message or "none of the 1 points"):
        clean(read_points(data, fmt))


def test_walking_together_needs_the_same_time_and_place():
    worker = clean(stroll([(E0, N0), (E0 + 1500, N0)]))  # 22.5 minutes
    beside = clean(stroll([(E0, N0 + 8), (E0 + 1500, N0 + 8)], seed=3))
    later = clean(stroll([(E0, N0 + 8), (E0 + 1500, N0 + 8)], T0 + 3600))
    across = clean(stroll([(E0, N0 + 200), (E0 + 1500, N0 + 200)]))
    [(start, end)] = together(worker, beside)
    assert start == pytest.approx(T0) and end - start == pytest.approx(22 * 60, abs=60)
    assert together(worker, later) == [] and together(worker, across) == []


def test_buildings_passed_within_thirty_metres():
    track = np.array([shapely.LineString([(E0, N0), (E0 + 200, N0)])], dtype=object)
    houses = np.array(
        [shapely.box(E0 + 50, N0 + 25, E0 + 70, N0 + 45), shapely.box(E0 + 50, N0 + 35, E0 + 70, N0 + 55)],
        dtype=object,
    )
    assert passed(houses, track).tolist() == [True, False]
