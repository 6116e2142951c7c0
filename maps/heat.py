"""The incident heat map: tier-weighted heat, a day or week time slider, clustered recent reports.

The page is drawn from cells (``geo.heat.HeatCells``, summed in PostGIS for stored incidents), never from
the points, so a million incidents make a page of a few hundred kilobytes; the heat kernel is wider than a
cell, so binning moves no hot spot. Markers are the most recent reports only, said so on the map.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import folium
import numpy as np
import pandas as pd
from folium import plugins

from core.vocabulary import STATUS_LABELS, beijing_text
from geo.coords import from_wgs84
from geo.heat import HeatCells, key_label
from maps.basemaps import BaseMap, new_map
from maps.frame import add_panel
from maps.safe import features, safe

GRADIENT = {0.2: "#2b83ba", 0.45: "#abdda4", 0.65: "#ffffbf", 0.85: "#fdae61", 1.0: "#d7191c"}
# Each marker popup is a short row; the clusterer builds markers in the browser from plain arrays.
MARKER_JS = """function (row) {
  var m = L.circleMarker(new L.LatLng(row[0], row[1]),
                         {radius: 6, color: row[3], weight: 2, fillColor: row[3], fillOpacity: 0.7});
  m.bindPopup(row[2]);
  return m;
}"""
# Marker colours stay clear of the heat ramp, so a marker is never read as heat.
TIER_COLOURS = {"A": "#1b9e77", "B": "#3288bd", "C": "#8e0152", "D": "#000000"}


@dataclass(frozen=True)
class HeatOptions:
    step: str = "day"  # the time slider's step: day or week
    markers: int = 1000  # the most recent reports drawn as clustered markers
    note: str = ""  # the filters in force, said on the map


def _display_xy(lon: np.ndarray, lat: np.ndarray, base: BaseMap) -> tuple[np.ndarray, np.ndarray]:
    if base.crs == "gcj02" and len(lon):
        return from_wgs84(lon, lat, "gcj02")
    return lon, lat


def _triples(frame: pd.DataFrame, scale: float, base: BaseMap) -> list[list[float]]:
    lon, lat = _display_xy(frame["lon"].to_numpy(), frame["lat"].to_numpy(), base)
    w = np.minimum(frame["weight"].to_numpy() / scale, 1.0)
    # Six decimals is 0.1 m: enough for a heat map, and the page stays small.
    return np.column_stack([np.round(lat, 6), np.round(lon, 6), np.round(w, 3)]).tolist()


def _popup(r) -> str:
    """A marker's card: category, status, tier, the report time in Beijing time, grid and assignee."""
    return (
        f"<b>{safe(r.category)}</b><br>{safe(STATUS_LABELS.get(r.status, r.status))} · {r.tier}类<br>"
        f"{beijing_text(pd.Timestamp(r.reported_at))}<br>网格 grid: {safe(r.grid or '-')}<br>"
        f"处置 assignee: {safe(r.assignee or '-')}<br><small>#{r.id}</small>"
    )


def incident_heat_map(
    heat: HeatCells,
    recent: pd.DataFrame,
    context: dict[str, pd.DataFrame],
    base: BaseMap,
    *,
    options: HeatOptions,
    source: str,
    data_time: datetime,
) -> folium.Map:
    """``heat``: the incidents' cells; ``recent``: the most recent reports to mark, with id, lon, lat, tier,
    reported_at, category, status, grid and assignee."""
    grids = context["grids"]
    fmap = new_map(base, tuple(grids.total_bounds))
    _heat_layer(heat.cells, base).add_to(fmap)
    if len(heat.frames):
        _time_slider(heat.time_frames(), options.step, base).add_to(fmap)
    if len(recent):
        _recent_markers(recent, base).add_to(fmap)
    outline = folium.FeatureGroup(name="网格 Grids", show=True)
    folium.GeoJson(
        features(grids[["id", "name", "geometry"]], base),
        style_function=lambda _f: {"fill": False, "color": "#666", "weight": 1},
        tooltip=folium.GeoJsonTooltip(["name"], aliases=["网格 grid"]),
    ).add_to(outline)
    outline.add_to(fmap)
    legend = [
        (GRADIENT[0.2], "热力 少 heat: fewer"),
        (GRADIENT[0.65], "热力 中 heat: some"),
        (GRADIENT[1.0], "热力 多 heat: many"),
    ]
    legend += [(c, f"标记 {t}类 marker: tier {t}") for t, c in TIER_COLOURS.items()]
    note = f"{heat.total:,} 件事件 incidents; 热力按级别加权 weighted by tier. {options.note}".strip()
    add_panel(fmap, "事件热力图 Incident heat", legend, source=source, data_time=data_time, note=note)
    return fmap


def _heat_layer(cells: pd.DataFrame, base: BaseMap) -> folium.FeatureGroup:
    """The whole period's heat, in small cells."""
    # Scale by a high percentile, not the single hottest cell, so one extreme cell does not wash out the rest.
    scale = float(np.percentile(cells["weight"], 98)) if len(cells) else 1.0
    heat = folium.FeatureGroup(name="事件热力 Incident heat (A1 B2 C3 D4)", show=True)
    if len(cells):
        plugins.HeatMap(
            _triples(cells, scale, base), radius=22, blur=18, min_opacity=0.25, max_zoom=18, gradient=GRADIENT
        ).add_to(heat)
    return heat


def _time_slider(frames: pd.DataFrame, step: str, base: BaseMap) -> plugins.HeatMapWithTime:
    """Heat a day or week at a time (the frames' ``key``)."""
    frames = frames.sort_values("key", kind="stable")
    fscale = float(np.percentile(frames["weight"], 98))
    order, starts = np.unique(frames["key"].to_numpy(), return_index=True)
    rows = _triples(frames, fscale, base)
    data = [rows[a:b] for a, b in zip(starts, [*starts[1:], len(rows)], strict=True)]
    return plugins.HeatMapWithTime(
        data,
        index=[key_label(k) for k in order],
        auto_play=False,
        radius=25,
        max_opacity=0.8,
        min_opacity=0.1,
        use_local_extrema=False,
        gradient=GRADIENT,
        name=f"按{'日' if step == 'day' else '周'}变化 by {step}",
        overlay=True,
        show=False,
    )


def _recent_markers(recent: pd.DataFrame, base: BaseMap) -> plugins.FastMarkerCluster:
    """The most recent reports as clustered markers coloured by tier, each with its card."""
    rlon, rlat = _display_xy(recent["lon"].to_numpy(float), recent["lat"].to_numpy(float), base)
    rows = [
        [round(float(y), 6), round(float(x), 6), _popup(r), TIER_COLOURS.get(r.tier, "#555")]
        for x, y, r in zip(rlon, rlat, recent.itertuples(), strict=True)
    ]
    return plugins.FastMarkerCluster(
        rows, callback=MARKER_JS, name=f"最近 {len(recent):,} 件 most recent reports"
    )
