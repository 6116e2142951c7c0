"""GPS patrol tracks: read GPX, GeoJSON and CSV; clean drift, jumps and gaps; measure what was walked.

Phones record every few seconds, but the signal bounces (a single point hundreds of metres
off), a patroller hops on a bus (a run of points far too fast to be walking), and a phone in a
pocket stops for minutes. Cleaning drops lone spikes, cuts the track where it moves faster than
``max_speed_kmh`` or falls silent for more than ``max_gap_s`` (nothing is assumed walked across a
cut), and reports every drop and cut. Coverage samples each road every ``SAMPLE_M`` metres and
counts a sample walked when a track passes within ``within_m``: a share of length, not of edges,
so one long road half walked reads as half walked. Pure: arrays in, arrays out; no database.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gpxpy
import gpxpy.gpx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.ndimage import uniform_filter1d

from geo.coords import to_wgs84, utm_epsg
from geo.sampling import near, sample_lines, vertices

FORMATS = ("gpx", "geojson", "csv")
SAMPLE_M = 2.0
JUNCTION_SCATTER_M = 10.0  # about two and a half standard deviations of phone GPS scatter
LOCAL_TZ = "Asia/Shanghai"
DEGREE_M = 111_320.0  # metres in a degree of latitude
SMOOTH_S = 15.0  # positions are averaged over this long when measuring distance walked


class TrackError(ValueError):
    """A track that cannot be read or has nothing usable in it."""


@dataclass
class Track:
    """One patrol log after cleaning: each piece an (n, 3) array of epoch seconds, lon, lat (WGS-84)."""

    pieces: list[np.ndarray]
    report: dict = field(default_factory=dict)

    @property
    def started_at(self) -> float:
        return float(self.pieces[0][0, 0])

    @property
    def ended_at(self) -> float:
        return float(self.pieces[-1][-1, 0])

    def geometry(self) -> shapely.MultiLineString:
        """The pieces as one WGS-84 MultiLineString (what the database stores)."""
        return shapely.MultiLineString([p[:, 1:3] for p in self.pieces])

    def smoothed(self, seconds: float = 30.0) -> shapely.MultiLineString:
        """The pieces with the GPS jitter averaged out over ``seconds`` (for drawing: a clean line simplifies
        to few vertices). Scatter is judged in metres: degrees scaled at the track's latitude."""
        scale = np.array([DEGREE_M * math.cos(math.radians(float(self.pieces[0][0, 2]))), DEGREE_M])
        return shapely.MultiLineString(
            [_smooth(p[:, 0], p[:, 1:3] * scale, seconds) / scale for p in self.pieces]
        )

    def times(self) -> list[float]:
        """Epoch seconds of every vertex of ``geometry()``, piece after piece."""
        return [float(t) for p in self.pieces for t in p[:, 0]]

    @classmethod
    def stored(cls, geometry: shapely.MultiLineString, times: list[float]) -> Track:
        """Rebuild a track from its stored geometry and vertex times."""
        pieces, at = [], 0
        for part in shapely.get_parts(geometry):
            xy = shapely.get_coordinates(part)
            pieces.append(np.column_stack([np.asarray(times[at : at + len(xy)], dtype=float), xy]))
            at += len(xy)
        return cls(pieces)

    def clipped(self, start: float, end: float) -> Track | None:
        """Only what was recorded in [start, end), or None when nothing was."""
        pieces = [p[(p[:, 0] >= start) & (p[:, 0] < end)] for p in self.pieces]
        pieces = [p for p in pieces if len(p) >= 2]
        return Track(pieces, self.report) if pieces else None


# -- reading ----------------------------------------------------------------------------------------


def _epoch(values: Sequence[object] | pd.Series) -> np.ndarray:
    """Seconds since 1970 (UTC); times without a zone are Beijing time, as Chinese phones export them."""
    stamps = pd.to_datetime(pd.Series(values), errors="coerce", utc=False, format="mixed")
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
    stamps = stamps.dt.tz_convert("UTC")
    out = (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
    return out


def _from_gpx(data: bytes) -> pd.DataFrame:
    try:
        gpx = gpxpy.parse(data.decode("utf-8-sig"))
    except (gpxpy.gpx.GPXException, UnicodeDecodeError, ValueError) as exc:
        raise TrackError(f"malformed GPX: {exc}") from None
    rows = [
        (p.time.isoformat() if p.time else None, p.longitude, p.latitude)
        for t in gpx.tracks
        for s in t.segments
        for p in s.points
    ]
    if not rows:
        raise TrackError("the GPX has no track points (<trkpt>)")
    # GPX times are UTC by the standard; a time without a zone is read as UTC here.
    times = [
        r[0] if r[0] is None or r[0][-6] in "+-" or r[0].endswith("Z") else r[0] + "+00:00" for r in rows
    ]
    return pd.DataFrame({"t": _epoch(times), "lon": [r[1] for r in rows], "lat": [r[2] for r in rows]})


def _from_geojson(data: bytes) -> pd.DataFrame:
    """Points with a ``time`` property, or lines with ``times`` (or ``coordTimes``) beside their coordinates."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TrackError(f"malformed GeoJSON: {exc}") from None
    features = doc.get("features", [doc]) if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise TrackError("GeoJSON must be a Feature or a FeatureCollection")
    times: list[Any] = []  # JSON as read: checked below, where it is used
    coords: list[Any] = []
    for f in features:
        geom, props = (f or {}).get("geometry") or {}, (f or {}).get("properties") or {}
        kind, xy = geom.get("type"), geom.get("coordinates")
        if kind == "Point":
            times.append(props.get("time"))
            coords.append(xy)
        elif kind in ("LineString", "MultiLineString"):
            lines: Any = [xy] if kind == "LineString" else xy
            stamps = props.get("times", props.get("coordTimes"))
            stamps = [stamps] if kind == "LineString" else stamps
            if (
                not isinstance(stamps, list)
                or len(stamps) != len(lines)
                or any(
                    not isinstance(s, list) or len(s) != len(c) for s, c in zip(stamps, lines, strict=True)
                )
            ):
                raise TrackError("a GeoJSON line needs a 'times' property with one time per vertex")
            for s, c in zip(stamps, lines, strict=True):
                times += s
                coords += c
        else:
            raise TrackError(f"GeoJSON tracks are points or lines, found {kind!r}")
    if not coords:
        raise TrackError("the GeoJSON has no track points")
    try:
        xy = np.array([c[:2] for c in coords], dtype=float)
    except (TypeError, ValueError, IndexError):
        raise TrackError("GeoJSON coordinates must be [lon, lat] numbers") from None
    return pd.DataFrame({"t": _epoch(times), "lon": xy[:, 0], "lat": xy[:, 1]})


CSV_COLUMNS = {
    "t": ("time", "timestamp", "datetime"),
    "lon": ("lon", "lng", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
}


def _from_csv(data: bytes) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            sep=None if "\t" in text[:200] else ",",
            engine="python",
            quoting=csv.QUOTE_MINIMAL,
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise TrackError(f"malformed CSV: {exc}") from None
    lower = {c.strip().lower(): c for c in frame.columns}
    picked = {}
    for key, names in CSV_COLUMNS.items():
        found = next((lower[n] for n in names if n in lower), None)
        if found is None:
            raise TrackError(f"the CSV needs a column named one of {', '.join(names)}")
        picked[key] = found
    return pd.DataFrame(
        {
            "t": _epoch(frame[picked["t"]]),
            "lon": pd.to_numeric(frame[picked["lon"]], errors="coerce"),
            "lat": pd.to_numeric(frame[picked["lat"]], errors="coerce"),
        }
    )


def read_points(data: bytes, fmt: str) -> pd.DataFrame:
    """Raw points (``t`` epoch seconds, ``lon``, ``lat``) in the file's own coordinates, unsorted, uncleaned."""
    readers = {"gpx": _from_gpx, "geojson": _from_geojson, "csv": _from_csv}
    if fmt not in readers:
        raise TrackError(f"track format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return readers[fmt](data)


def guess_format(name: str) -> str:
    """The format a file name says (``.gpx``, ``.geojson``/``.json``, ``.csv``/``.txt``)."""
    ext = name.rsplit(".", 1)[-1].lower()
    return {"gpx": "gpx", "geojson": "geojson", "json": "geojson", "csv": "csv", "txt": "csv"}.get(ext, ext)


# -- cleaning ---------------------------------------------------------------------------------------


def _speeds(t: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """km/h between consecutive points."""
    dt = np.diff(t)
    return np.hypot(*np.diff(xy, axis=0).T) / np.maximum(dt, 1e-9) * 3.6


def _scatter_m(xy: np.ndarray) -> float:
    """The GPS scatter, from the median second difference (zero on a steady straight walk, ~√6·σ with noise)."""
    if len(xy) < 3:
        return 0.0
    second = np.hypot(*np.diff(xy, n=2, axis=0).T)
    return float(np.median(second)) / np.sqrt(6)


def _smooth(t: np.ndarray, xy: np.ndarray, seconds: float = SMOOTH_S) -> np.ndarray:
    """Positions averaged over about ``seconds`` of fixes when the fixes scatter (a clean log is kept as it is:
    averaging also rounds its corners and turn-backs)."""
    if _scatter_m(xy) < 1.0:
        return xy
    window = max(1, int(round(seconds / max(float(np.median(np.diff(t))), 1e-9))) | 1)
    return uniform_filter1d(xy, window, axis=0, mode="nearest") if window > 1 else xy


def _smoothed_length(t: np.ndarray, xy: np.ndarray) -> float:
    """Metres walked, on smoothed positions: summing raw fixes would add every metre of jitter."""
    return float(np.hypot(*np.diff(_smooth(t, xy), axis=0).T).sum())


def clean(
    points: pd.DataFrame, crs: str = "wgs84", *, max_speed_kmh: float = 30.0, max_gap_s: float = 300.0
) -> Track:
    """Drop unusable points and spikes, cut at rides and silences; the report says what was done."""
    n = len(points)
    t, lon, lat = (points[c].to_numpy(dtype=float) for c in ("t", "lon", "lat"))
    ok = np.isfinite(t) & np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    report: dict[str, float] = {"points": n, "invalid": int(n - ok.sum())}
    t, lon, lat = t[ok], lon[ok], lat[ok]
    if len(t) == 0:
        raise TrackError(f"none of the {n} points has a valid time and position")
    lon, lat = to_wgs84(lon, lat, crs)
    order = np.argsort(t, kind="stable")
    t, lon, lat = t[order], lon[order], lat[order]
    first = np.concatenate([[True], np.diff(t) > 0])
    report["duplicates"] = int((~first).sum())
    t, lon, lat = t[first], lon[first], lat[first]
    epsg = utm_epsg(float(np.median(lon)), float(np.median(lat)))
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    xy = np.column_stack([x, y])
    # A spike is one point too fast to reach and too fast to leave, while its neighbours agree.
    keep = np.ones(len(t), dtype=bool)
    for _ in range(5):
        idx = np.flatnonzero(keep)
        if len(idx) < 3:
            break
        v = _speeds(t[idx], xy[idx])
        skip = np.hypot(*(xy[idx[2:]] - xy[idx[:-2]]).T) / np.maximum(t[idx[2:]] - t[idx[:-2]], 1e-9) * 3.6
        spike = np.zeros(len(idx), dtype=bool)
        spike[1:-1] = (v[:-1] > max_speed_kmh) & (v[1:] > max_speed_kmh) & (skip <= max_speed_kmh)
        spike[0] = v[0] > max_speed_kmh and v[1] <= max_speed_kmh
        spike[-1] = v[-1] > max_speed_kmh and v[-2] <= max_speed_kmh
        if not spike.any():
            break
        keep[idx[spike]] = False
    report["jumps"] = int((~keep).sum())
    t, lon, lat, xy = t[keep], lon[keep], lat[keep], xy[keep]
    fast = np.concatenate([[False], _speeds(t, xy) > max_speed_kmh]) if len(t) > 1 else np.zeros(len(t), bool)
    silent = np.concatenate([[False], np.diff(t) > max_gap_s])
    report["too_fast_cuts"] = int((fast & ~silent).sum())
    report["gaps"] = int(silent.sum())
    starts = np.flatnonzero(fast | silent | (np.arange(len(t)) == 0))
    pieces, isolated, length = [], 0, 0.0
    for a, b in zip(starts, [*starts[1:], len(t)], strict=True):
        if b - a < 2:
            isolated += b - a
            continue
        pieces.append(np.column_stack([t[a:b], lon[a:b], lat[a:b]]))
        length += _smoothed_length(t[a:b], xy[a:b])
    report["isolated"] = int(isolated)
    if not pieces:
        raise TrackError("no two consecutive points make a walk: the track is too sparse or jumps everywhere")
    report.update(
        kept=sum(len(p) for p in pieces),
        pieces=len(pieces),
        length_m=round(length, 1),
        duration_min=round(float(sum(p[-1, 0] - p[0, 0] for p in pieces)) / 60, 1),
    )
    return Track(pieces, report)


# -- coverage ---------------------------------------------------------------------------------------


def pieces_of(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every two-point stretch of the lines (a tight spatial index), and which line each came from."""
    parts, owner = shapely.get_parts(np.asarray(lines, dtype=object), return_index=True)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[1:] == index[:-1]
    pairs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    stretches = shapely.linestrings(pairs) if len(pairs) else np.array([], dtype=object)
    return stretches, owner[index[:-1][same]]


@dataclass
class Walked:
    """Which share of each line the tracks passed: ``share`` by anyone, ``by_owner`` by each owner's tracks."""

    share: np.ndarray
    by_owner: dict[str, np.ndarray]


def walked(
    lines: np.ndarray,
    tracks: np.ndarray,
    owners: list[str],
    *,
    within_m: float = 20.0,
    junctions: np.ndarray | None = None,
) -> Walked:
    """Share of each metric line's length within ``within_m`` of any track, and of each owner's tracks.

    Crossing a street is not walking it: the stretches within ``within_m`` + ``JUNCTION_SCATTER_M`` of a
    junction (``junctions``, metric x, y) are left out of the share, unless that is all of the line; the
    margin is there because a walker's fixes on the cross street scatter along this one too. Tracks are densified to a
    vertex every ``SAMPLE_M`` metres, so a point search finds any track line within ``within_m`` to a few
    centimetres, however sparse its fixes.
    """
    samples = sample_lines(lines, SAMPLE_M)
    weight = np.ones(len(samples.xy))
    if junctions is not None and len(junctions):
        weight[near(np.asarray(junctions, dtype=float), samples.xy, within_m + JUNCTION_SCATTER_M)] = 0.0
        weight[samples.per_line(weight)[samples.owner] == 0] = (
            1.0  # a line that is all junction counts all of itself
        )
    total = samples.per_line(weight)

    def share(hit: np.ndarray) -> np.ndarray:
        return samples.per_line(hit * weight) / total

    if len(tracks) == 0:
        return Walked(share(np.zeros(len(samples.xy))), {})
    xy, which = vertices(tracks, SAMPLE_M)
    names, code = np.unique(np.asarray(owners, dtype=str), return_inverse=True)
    order = np.argsort(code[which], kind="stable")
    groups = np.split(xy[order], np.searchsorted(code[which][order], np.arange(1, len(names))))
    by_owner = {
        str(n): share(near(g, samples.xy, within_m)) for n, g in zip(names, groups, strict=True) if len(g)
    }
    return Walked(share(near(xy, samples.xy, within_m)), by_owner)


def passed(geoms: np.ndarray, tracks: np.ndarray, *, within_m: float = 30.0) -> np.ndarray:
    """Whether any track came within ``within_m`` of each metric geometry (a building passed)."""
    stretches, _ = pieces_of(tracks)
    out = np.zeros(len(geoms), dtype=bool)
    if len(stretches):
        hits, _ = shapely.STRtree(stretches).query(geoms, predicate="dwithin", distance=within_m)
        out[hits] = True
    return out


def _position(track: Track, at: np.ndarray, to_metric: Transformer) -> np.ndarray:
    """Metric positions at the given times; NaN where the track was not recording."""
    out = np.full((len(at), 2), np.nan)
    for p in track.pieces:
        inside = (at >= p[0, 0]) & (at <= p[-1, 0])
        if inside.any():
            x, y = to_metric.transform(
                np.interp(at[inside], p[:, 0], p[:, 1]), np.interp(at[inside], p[:, 0], p[:, 2])
            )
            out[inside] = np.column_stack([x, y])
    return out


def together(
    a: Track, b: Track, *, within_m: float = 50.0, min_minutes: float = 10.0, step_s: float = 30.0
) -> list[tuple[float, float]]:
    """Stretches of at least ``min_minutes`` when both recorded and stayed within ``within_m`` of each other."""
    start, end = max(a.started_at, b.started_at), min(a.ended_at, b.ended_at)
    if end - start < min_minutes * 60:
        return []
    lon, lat = a.pieces[0][0, 1], a.pieces[0][0, 2]
    to_metric = Transformer.from_crs(4326, utm_epsg(lon, lat), always_xy=True)
    at = np.arange(start, end + step_s / 2, step_s)
    gap = np.hypot(*(_position(a, at, to_metric) - _position(b, at, to_metric)).T)
    close = np.nan_to_num(gap, nan=np.inf) <= within_m
    out, run = [], None
    for i, c in enumerate([*close, False]):
        if c and run is None:
            run = i
        elif not c and run is not None:
            if at[i - 1] - at[run] >= min_minutes * 60:
                out.append((float(at[run]), float(at[i - 1])))
            run = None
    return out
