"""Patrol coverage for the command centre: segments coloured by the share walked in the period, roads nobody
walked highlighted, buildings nobody passed, the walked tracks, the planned route, and a card per grid."""

from __future__ import annotations

from datetime import datetime, timedelta

import folium
import geopandas as gpd
import shapely

from core.vocabulary import ROLE_LABELS, beijing
from maps.basemaps import BaseMap, for_display, new_map
from maps.frame import add_panel, add_street_outline, fill_by_colour
from maps.safe import features

# Share walked, worst first: red is what nobody covered.
SHARE_CLASSES = [
    (0.2, "#d7191c", "0–20 %"),
    (0.5, "#fdae61", "20–50 %"),
    (0.8, "#a6d96a", "50–80 %"),
    (1.01, "#1a9641", "80–100 %"),
]
UNWALKED, NOT_PASSED, ROUTE = "#7b0000", "#ff7f00", "#6a3d9a"
TRACK_COLOURS = {
    "grid_worker": "#c62828",
    "street_chief": "#1565c0",
    "official": "#ef6c00",
    "grid_chief": "#6d4c41",
}
TRACK_SIMPLIFY_DEG = 0.00005  # about 5 m on tracks smoothed over 30 s: a walk along a road keeps its corners
MAX_TRACKS_DRAWN = 200  # the most recent; coverage itself counts every log of the period


def share_colour(share: float | None) -> str:
    if share is None:
        return "#bbbbbb"
    return next(colour for upper, colour, _ in SHARE_CLASSES if share < upper)


def coverage_map(
    report: dict,
    frames: dict[str, gpd.GeoDataFrame],
    base: BaseMap,
    *,
    route: dict | None,
    source: str,
    data_time: datetime,
) -> folium.Map:
    """``report``: a street's coverage; ``frames``: WGS-84 ``street``, ``grids``, ``segments``, ``buildings``
    (those not passed) and ``tracks`` (person, role, name; oldest first; the report counts them all, and
    only the most recent ``MAX_TRACKS_DRAWN`` are drawn); ``route``: a planned route."""
    fmap = new_map(base, tuple(frames["street"].total_bounds))
    _grid_layer(frames["grids"], report, base).add_to(fmap)
    if route and route.get("features"):
        _route_layer(route, base).add_to(fmap)
    _track_layer(frames["tracks"], report, base).add_to(fmap)
    _segment_layer(frames["segments"], report, base).add_to(fmap)
    _unwalked_layer(report, base).add_to(fmap)
    _missed_layer(frames["buildings"], base).add_to(fmap)
    add_street_outline(fmap, frames["street"], base)
    add_panel(
        fmap,
        "巡查覆盖 Patrol coverage",
        _legend(report),
        source=source,
        data_time=data_time,
        note=_note(report),
    )
    return fmap


def _grid_layer(grids: gpd.GeoDataFrame, report: dict, base: BaseMap) -> folium.FeatureGroup:
    """Grids lightly shaded by the share of their roads walked, a card each: walked, by the worker, passed."""
    grid_rows = {g["id"]: g for g in report["grids"]}
    grids = grids.copy()
    grids["walked"] = [_percent(grid_rows.get(g, {}).get("walked_share")) for g in grids["id"]]
    grids["worker_walked"] = [_percent(grid_rows.get(g, {}).get("worker_share")) for g in grids["id"]]
    grids["passed"] = [
        f"{grid_rows[g]['buildings_passed']}/{grid_rows[g]['buildings']}" if g in grid_rows else "-"
        for g in grids["id"]
    ]
    grids["colour"] = [share_colour(grid_rows.get(g, {}).get("walked_share")) for g in grids["id"]]
    layer = folium.FeatureGroup(name="网格 Grids (巡查覆盖 share walked)", show=True)
    if grids.empty:  # folium cannot build a popup over no features
        return layer
    fields = ["id", "worker", "walked", "worker_walked", "passed"]
    folium.GeoJson(
        features(grids[[*fields, "colour", "geometry"]], base),
        style_function=fill_by_colour("#666", 1, 0.18),
        popup=folium.GeoJsonPopup(
            fields,
            aliases=[
                "网格 grid",
                "网格员 worker",
                "道路已巡 roads walked",
                "本人巡查 by the worker",
                "楼栋经过 buildings passed",
            ],
        ),
    ).add_to(layer)
    return layer


def _route_layer(route: dict, base: BaseMap) -> folium.FeatureGroup:
    """The planned route, a dashed purple line per patroller, hidden until asked for."""
    planned = folium.FeatureGroup(name="计划路线 Planned route", show=False)
    lines = for_display(gpd.GeoDataFrame.from_features(route["features"], crs=4326), base)
    for line, p in zip(lines.geometry, (f["properties"] for f in route["features"]), strict=True):
        folium.PolyLine(
            [(y, x) for x, y in line.coords],
            color=ROUTE,
            weight=3,
            dash_array="6 6",
            opacity=0.9,
            tooltip=f"计划路线 planned route {p.get('patroller', 1)}: {p['length_m']:,.0f} m, "
            f"{p['duration_min']:.0f} min",
        ).add_to(planned)
    return planned


def _track_layer(tracks: gpd.GeoDataFrame, report: dict, base: BaseMap) -> folium.FeatureGroup:
    """The most recent walked tracks, simplified, coloured by the walker's role and named on hover."""
    tracks = tracks.tail(MAX_TRACKS_DRAWN)
    drawn = (
        f"{len(tracks)}"
        if len(tracks) == report["tracks"]
        else f"最近 most recent {len(tracks)} / {report['tracks']}"
    )
    walked = folium.FeatureGroup(name=f"巡查轨迹 Walked tracks ({drawn})", show=True)
    if len(tracks):
        thin = tracks.assign(
            geometry=shapely.set_precision(tracks.geometry.simplify(TRACK_SIMPLIFY_DEG).values, 1e-5),
            who=[f"{ROLE_LABELS.get(r, r)} {n}" for r, n in zip(tracks["role"], tracks["name"], strict=True)],
        )
        folium.GeoJson(
            features(thin[["who", "role", "geometry"]], base),
            style_function=lambda f: {
                "color": TRACK_COLOURS.get(f["properties"]["role"], "#333"),
                "weight": 1.5,
                "opacity": 0.35,
            },
            tooltip=folium.GeoJsonTooltip(["who"], labels=False),
        ).add_to(walked)
    return walked


def _segment_layer(segments: gpd.GeoDataFrame, report: dict, base: BaseMap) -> folium.FeatureGroup:
    """Responsible segments coloured by the share walked, worst red."""
    shares = {s["id"]: s for s in report["segments"]}
    segments = segments.copy()
    segments["share"] = [shares[s]["walked_share"] for s in segments["id"]]
    segments["walked"] = [_percent(v) for v in segments["share"]]
    segments["colour"] = [share_colour(v) for v in segments["share"]]
    layer = folium.FeatureGroup(name="责任路段 Segments (已巡比例 share walked)", show=True)
    if segments.empty:
        return layer
    folium.GeoJson(
        features(segments[["id", "name", "walked", "colour", "geometry"]], base),
        style_function=lambda f: {"color": f["properties"]["colour"], "weight": 6, "opacity": 0.9},
        tooltip=folium.GeoJsonTooltip(["name", "walked"], aliases=["路段 segment", "已巡 walked"]),
    ).add_to(layer)
    return layer


def _unwalked_layer(report: dict, base: BaseMap) -> folium.FeatureGroup:
    """Roads nobody walked in the period, as a heavy dotted dark-red line."""
    nobody = folium.FeatureGroup(name="无人巡查道路 Roads nobody walked", show=True)
    if report["unwalked"]["features"]:
        unwalked = gpd.GeoDataFrame.from_features(report["unwalked"]["features"], crs=4326)
        folium.GeoJson(
            features(unwalked[["name", "length_m", "geometry"]], base),
            style_function=lambda _f: {
                "color": UNWALKED,
                "weight": 10,
                "opacity": 0.8,
                "dashArray": "2 8",
                "lineCap": "round",
            },
            tooltip=folium.GeoJsonTooltip(["name", "length_m"], aliases=["无人巡查 not walked", "米 m"]),
        ).add_to(nobody)
    return nobody


def _missed_layer(buildings: gpd.GeoDataFrame, base: BaseMap) -> folium.FeatureGroup:
    """The buildings nobody passed, filled orange."""
    missed = folium.FeatureGroup(name=f"未经过楼栋 Buildings not passed ({len(buildings)})", show=True)
    if len(buildings):
        folium.GeoJson(
            features(buildings[["id", "geometry"]], base),
            style_function=lambda _f: {
                "color": NOT_PASSED,
                "fillColor": NOT_PASSED,
                "weight": 2,
                "fillOpacity": 0.5,
            },
            tooltip=folium.GeoJsonTooltip(["id"], aliases=["未经过楼栋 not passed"]),
        ).add_to(missed)
    return missed


def _legend(report: dict) -> list[tuple[str, str]]:
    return (
        [(c, f"路段已巡 segment walked {label}") for _, c, label in SHARE_CLASSES]
        + [
            (UNWALKED, "无人巡查道路 road nobody walked"),
            (
                NOT_PASSED,
                f"楼栋 {report['passed_m']:g} 米内无人经过 "
                f"building nobody passed within {report['passed_m']:g} m",
            ),
            (ROUTE, "计划路线 planned route (虚线 dashed)"),
        ]
        + [(c, f"轨迹 track: {ROLE_LABELS[r]}") for r, c in TRACK_COLOURS.items() if r != "grid_chief"]
    )


def _note(report: dict) -> str:
    """The period in Beijing days, then what was walked and who fell short of joint patrols."""
    roads = report["roads"]
    short = sum(1 for w in report["workers"] if any(k["complete"] and not k["ok"] for k in w["weeks"]))
    return (
        f"{_day(report['from'])} – {_day(report['to'], end=True)} (北京时间 Beijing) · {report['tracks']} 条轨迹 logs · 道路已巡 "
        f"{_percent(roads['walked_share'])} of {roads['length_m']:,.0f} m · 无人巡查 "
        f"{roads['unwalked_length_m']:,.0f} m · 陪同巡查不足两天的网格员 workers short of 2 joint days: "
        f"{short}"
    )


def _day(iso: str, *, end: bool = False) -> str:
    """The Beijing date of a period bound (an end at midnight names the day before: the last day included)."""
    local = beijing(datetime.fromisoformat(iso))
    return (local - timedelta(seconds=1) if end else local).strftime("%Y-%m-%d")


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"
